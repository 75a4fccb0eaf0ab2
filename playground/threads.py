"""Django's per-request thread, taken from a pool of kept threads instead of started anew.

Under ASGI, Django runs a request's sync middleware and view in a thread of the request's
own (`ASGIHandler` enters asgiref's `ThreadSensitiveContext`, whose first sync call starts
a single-thread executor, joined by yet another new thread when the request ends). Each
thread start blocks the event loop until the new thread runs: 1,200 starts cost the loop
2.0 s in a profile of two 200-visitor rounds of `make load` (each visitor's edit, and the
first round's pages), on the loop that also serves every websocket.

`PooledThreads` enters a `ThreadSensitiveContext` with an executor of its own for each
HTTP request before Django does (Django's then finds it and adds none): one thread, the
request's alone while it runs, as before — but taken from a free list and put back
afterwards, so a thread is started only when more requests than ever before run at once.
At most `KEEP` idle threads are kept; one more, or one still running its request's view,
ends when its work is done. A kept thread keeps no request's
state: Django closes the database connection at each request's end (`CONN_MAX_AGE`), as
with a new thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from asgiref.sync import ThreadSensitiveContext

from playground.guards import App, Receive, Scope, Send

T = TypeVar("T")

KEEP = 256  # idle threads kept: 200 edits at once start 200 threads once, then reuse them


class RequestThread(ThreadPoolExecutor):
    """One thread, and how many calls it has been given that have not ended."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="request")
        self._count_lock = threading.Lock()
        self.pending = 0

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        with self._count_lock:
            self.pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._ended)  # before asgiref's: counted before it resumes
        return future

    def _ended(self, _future: Future[Any]) -> None:
        with self._count_lock:
            self.pending -= 1


_lock = threading.Lock()
_idle: list[RequestThread] = []
started = 0  # threads started for requests (tests read it)


def _take() -> RequestThread:
    global started
    with _lock:
        if _idle:
            return _idle.pop()
        started += 1
    return RequestThread()


def _give_back(executor: RequestThread) -> None:
    """Keep the thread for the next request, unless it still runs this one's view (a
    caller that left while it waited: Django stops waiting, the thread cannot be stopped)
    or enough are kept; then it ends once its work is done, without a join here."""
    if executor.pending == 0:
        with _lock:
            if len(_idle) < KEEP:
                _idle.append(executor)
                return
    executor.shutdown(wait=False)


class PooledThreads:
    """ASGI: each HTTP request's sync code runs on a kept thread of its own."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        executor = _take()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.app(scope, receive, send)
        finally:
            _give_back(executor)
