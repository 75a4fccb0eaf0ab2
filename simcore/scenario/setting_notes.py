"""Settings Kafka accepts that still change the lesson: a note to show beside them.

Nothing here refuses anything — Kafka would run these combinations too — but a reader
who sets ``commit: sync-per-record`` expects their own commits to decide, and with
``enable.auto.commit`` left on they do not alone. Sources: [J] ConsumerCoordinator (the
auto-commit inside poll() runs whatever else the application commits); [R]
INTRODUCTION.md "At-least-once processing" (the timer commits the offset store, which
``enable.auto.offset.store=true`` fills as poll() hands a message out).
"""

from __future__ import annotations

from typing import TypedDict

from simcore.scenario.spec import Scenario


class SettingNote(TypedDict):
    consumer: str
    field: str
    note: str


def setting_notes(scenario: Scenario) -> list[SettingNote]:
    out: list[SettingNote] = []
    for index, c in enumerate(scenario.consumers):
        if c.commit == "auto" or not c.enable_auto_commit:
            continue
        field = f"consumers[{index}].config.enable.auto.commit"
        if c.client == "librdkafka" and c.enable_auto_offset_store:
            note = (
                f"enable.auto.commit is still true beside commit: {c.commit}. librdkafka's "
                "timer keeps committing the offset store every auto.commit.interval.ms, and "
                "enable.auto.offset.store=true stores a message as soon as poll() hands it "
                "out — so a crash can still skip a message in progress, whatever your own "
                "commits do. Set enable.auto.commit=false (or enable.auto.offset.store=false)."
            )
        elif c.client == "librdkafka":
            note = (
                f"enable.auto.commit is still true beside commit: {c.commit}: librdkafka's "
                "timer also commits the offsets stored after processing, every "
                "auto.commit.interval.ms — more commits than your code makes, none too early."
            )
        else:
            note = (
                f"enable.auto.commit is still true beside commit: {c.commit}: every poll() "
                "also auto-commits the positions once auto.commit.interval.ms has passed — "
                "commits your code did not make (still covering only earlier polls). Set "
                "enable.auto.commit=false to commit only where your code does."
            )
        out.append({"consumer": c.id, "field": field, "note": note})
    return out
