"""The answers to a scenario's questions, computed from its run (never typed by hand).

The questions are parsed with the scenario (`simcore.scenario.questions`); a run answers them
here: a number from the ledger, the owner of a partition at a time, whether a client saw an
error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simcore.kernel.errors import ScenarioError
from simcore.report.processing import processing_ledger
from simcore.scenario.checks import join
from simcore.scenario.questions import ERROR_ANSWER, OWNER_ANSWER
from simcore.scenario.spec import QuestionSpec

if TYPE_CHECKING:
    from simcore.report.result import Result


def answers(result: Result) -> list[dict[str, Any]]:
    """Each question with the run's answer (a number, or one of its choices)."""
    out = []
    for index, question in enumerate(result.scenario.questions):
        value = _answer(result, question)
        if question.kind == "choice" and value not in question.choices:
            raise ScenarioError(
                join(join("questions", index), "choices"),
                f"the run's answer {value!r} is not among the choices",
                allowed=", ".join(question.choices),
            )
        out.append(
            {
                "id": question.id,
                "ask": question.ask,
                "kind": question.kind,
                "choices": list(question.choices),
                "at_ms": question.at_ms,
                "answer": value,
            }
        )
    return out


def _answer(result: Result, question: QuestionSpec) -> int | str:
    text = question.answer
    if text.startswith("ledger."):
        _ledger, side, name, counter = text.split(".")
        value = result.ledger[side][name][counter]
        return int(value)
    if text.startswith("processing."):
        _processing, app, counter = text.split(".")
        figures = (processing_ledger(result.sim) or {})[app]
        if counter.startswith("sink_"):
            return int(figures["sink"][counter.removeprefix("sink_")])
        if counter in figures["inputs"]:
            return int(figures["inputs"][counter])
        return int(figures[counter])
    owner = OWNER_ANSWER.fullmatch(text)
    if owner is not None:
        group, topic, partition, at = owner.groups()
        return _owner_at(result, group, (topic, int(partition)), int(at) if at else None)
    error = ERROR_ANSWER.fullmatch(text)
    assert error is not None  # parse_questions accepted only these three forms
    client = error.group(1)
    return "yes" if any(e.startswith(f"{client}:") for e in result.errors) else "no"


def _owner_at(result: Result, group: str, tp: tuple[str, int], at: int | None) -> str:
    """The consumer that owns the partition at ``at`` ms (the end by default)."""
    recorder = result.sim.recorder
    snapshots = recorder.snapshots
    index = len(snapshots) - 1
    if at is not None:
        index = max(k for k, snap in enumerate(snapshots) if snap.t <= at or k == 0)
    rows = recorder.group_rows
    for (row_group, part), row in zip(rows, snapshots[index].groups, strict=True):
        if row_group == group and part.tp == tp:
            owner = row.owner
            return "nobody" if owner is None else result.sim.consumers[owner].id
    return "nobody"
