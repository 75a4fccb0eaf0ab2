"""A real Daphne server (websockets included) and Debian's Chromium for browser tests.

pytest-django's `live_server` speaks WSGI only, so the server is Channels' recipe:
`daphne.testing.DaphneProcess` running `channels.testing.live.make_application` in a forked
child, on a file-based test database the child can open too. See
../shared/design/stack-notes.md for the three traps this file avoids.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import SyncToAsync
from channels.testing.live import make_application, set_database_connection
from daphne.testing import DaphneProcess
from django.conf import settings
from django.db import connections

from playground.rates import Rate

# Trap 1: Playwright's sync API keeps an event loop running in this thread, which makes
# Django refuse ORM calls from test code ("SynchronousOnlyOperation").
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".artifacts"
SERVER_START_SECONDS = 20


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    # Never `playwright install`: its downloads are unreachable. Debian's build works.
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    # The server runs in another process: it cannot see an in-memory database.
    db_file = tmp_path_factory.mktemp("db") / "browser-tests.sqlite3"
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = str(db_file)


def _child_setup() -> None:
    # Trap 3: the forked child inherits asgiref's single-thread executor but not its thread,
    # so every database_sync_to_async call would wait forever. Give it a fresh one.
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    set_database_connection()


def _wait_until_listening(process: DaphneProcess) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while not process.ready.wait(timeout=0.2):
        if not process.is_alive() or time.monotonic() > deadline:
            detail = "" if process.errors.empty() else process.errors.get_nowait()[1]
            raise RuntimeError(f"Daphne did not start:\n{detail}")


@pytest.fixture(scope="session")
def daphne_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    # Every browser test comes from 127.0.0.1 to one server for the whole session, so the
    # per-address limits (runs, edits, websockets; tested in tests/web) count the whole
    # suite as one visitor: with 41 tests, later players stalled (11 to 18 timeouts in a
    # full run; none with the limits raised). The forked server inherits these.
    settings.RATE_RUNS = Rate(100_000, 60)
    settings.RATE_EDITS = Rate(100_000, 60)
    settings.WS_PER_CLIENT = 100_000
    with django_db_blocker.unblock():
        # An SQLite connection must not cross a fork: in WAL mode the child's inherited
        # one read a stale snapshot (a row written by the next test was not found).
        connections.close_all()
        process = DaphneProcess(
            "127.0.0.1",
            partial(make_application, static_wrapper=None),  # WhiteNoise serves static
            setup=_child_setup,
        )
        process.start()
        try:
            _wait_until_listening(process)
            yield f"http://127.0.0.1:{process.port.value}"
        finally:
            process.terminate()
            process.join(timeout=10)


@pytest.fixture(scope="session")
def base_url(daphne_url: str) -> str:
    # Overrides pytest-playwright's fallback fixture (which pytest 9 warns about), so that
    # `page.goto("/r/…")` goes to our server.
    return daphne_url


@pytest.fixture
def live_url(daphne_url: str, transactional_db: None) -> str:
    """The server's base URL; the test's database writes are committed, so it sees them."""
    return daphne_url


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored): look at them after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
