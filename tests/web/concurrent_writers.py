"""Many threads saving edits at once through the real view, on the database DATABASE_URL
names (run as a program by test_storage.py, so the settings are read fresh).

    python -m tests.web.concurrent_writers THREADS EDITS_PER_THREAD

Half the edits are new scenarios (a new row each), half the same one (every thread races
to create one row); a third of the threads save in a transaction that reads first.
Prints one JSON line: errors (with the first few messages), saved links that do not read
back as themselves, rows, and SQLite's journal mode.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any


def main(threads: int, edits: int) -> dict[str, Any]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections, transaction
    from django.test import Client
    from django.test.utils import setup_test_environment

    from playground import scenarios
    from playground.models import SharedScenario
    from simcore import builtin_scenarios

    setup_test_environment()
    call_command("migrate", verbosity=0)
    _name, base = builtin_scenarios()[0]
    slug = scenarios.save(base)
    yaml_text = scenarios.to_yaml(base)
    errors: list[str] = []
    saved: set[str] = set()
    start = threading.Barrier(threads)

    def edited(seed: int) -> str:
        return yaml_text.replace(f"seed: {base.seed}\n", f"seed: {seed}\n", 1)

    def through_the_view(client: Client, seed: int) -> None:
        response = client.post(f"/r/{slug}/edit", {"yaml": edited(seed)})
        if response.status_code != 303:
            raise AssertionError(f"{response.status_code}: {response.content[:200]!r}")
        saved.add(response["Location"].removeprefix("/r/"))

    def read_then_write(seed: int) -> None:
        """One transaction that reads, then writes: with SQLite's default (deferred)
        transactions two of these deadlock, and SQLite fails one at once, timeout or not."""
        with transaction.atomic():
            scenarios.find(slug)
            saved.add(scenarios.save(scenarios.parse_text(edited(seed))))

    def writer(k: int) -> None:
        client = Client()
        start.wait()
        for i in range(edits):
            seed = k * edits + i + 1_000 if i % 2 == 0 else 999
            try:
                if k % 3 == 2:
                    read_then_write(seed)
                else:
                    through_the_view(client, seed)
            except Exception as exc:  # counted and reported: the point of the program
                errors.append(repr(exc)[:300])
        connections.close_all()

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    unreadable = [
        s for s in saved if (found := scenarios.find(s)) is None or scenarios.slug_of(found) != s
    ]
    return {
        "errors": len(errors),
        "unreadable": len(unreadable),
        "first_errors": errors[:5],
        "rows": SharedScenario.objects.count(),
        "saved": len(saved),
        "journal_mode": _journal_mode(),
    }


def _journal_mode() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        return str(cursor.fetchone()[0])


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
