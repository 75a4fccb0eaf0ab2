"""Durable storage under concurrency: many writers at once on a file-based SQLite database
(the default) get no error, and every link they made reads back as itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from playground.settings import database_from_url

THREADS, EDITS = 48, 10


def test_many_concurrent_writers_get_no_error(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    program = [sys.executable, "-W", "ignore", "-m", "tests.web.concurrent_writers"]
    done = subprocess.run(
        [*program, str(THREADS), str(EDITS)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["errors"] == 0, report["first_errors"]
    unique = THREADS * (EDITS // 2)  # even edits are new scenarios, odd ones all the same
    assert report["saved"] == unique + 1
    assert report["rows"] == unique + 2  # and the built-in the edits started from
    assert report["unreadable"] == 0
    assert report["journal_mode"] == "wal"


def test_sqlite_takes_the_write_lock_at_begin_and_waits_for_it() -> None:
    options = database_from_url("sqlite:///db.sqlite3")["OPTIONS"]
    assert options == {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
        "timeout": 20,
    }


def test_postgres_connections_are_not_kept_per_thread() -> None:
    assert database_from_url("postgres://u:p@db/playground")["CONN_MAX_AGE"] == 0
