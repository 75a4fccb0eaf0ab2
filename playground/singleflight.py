"""One computation per key among a process's threads: the others wait for its result.

200 visitors opening the same page at once would otherwise each decode the same 12 MB run
and render the same 209 kB page (docs/load.md measured that herd at a page p50 of 70 s).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None
        self.waiters = 0


class SingleFlight(Generic[T]):
    """`do(key, fn)`: the first caller for `key` runs `fn`; callers arriving while it runs
    get its value (or its exception) instead of running `fn` again."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, _Call[T]] = {}

    def waiting(self, key: str) -> int:
        """Callers waiting for the computation of `key` now (tests)."""
        with self._lock:
            call = self._calls.get(key)
            return call.waiters if call else 0

    def do(
        self, key: str, fn: Callable[[], T], retry_on: tuple[type[BaseException], ...] = ()
    ) -> T:
        """`retry_on`: errors that were the leader's own (e.g. its caller left), after which
        a waiting caller runs `fn` itself rather than fail with them."""
        while True:
            with self._lock:
                call = self._calls.get(key)
                leader = call is None
                if call is None:
                    call = self._calls[key] = _Call()
                else:
                    call.waiters += 1
            if leader:
                break
            call.done.wait()
            if call.error is None:
                return call.value  # type: ignore[return-value]
            if not isinstance(call.error, retry_on):
                raise call.error
        try:
            call.value = fn()
            return call.value
        except BaseException as err:
            call.error = err
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
