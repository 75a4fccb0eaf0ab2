"""Every exception `simcore` raises on purpose.

    SimcoreError                 base class: catch this to catch them all
    ├── ScenarioError            the scenario is invalid: names the field, what is allowed
    ├── InvariantViolation       the engine broke an invariant: seed + step replay it
    └── RunBudgetExceeded        a run hit its event or time budget and was stopped

A `ScenarioError` renders as one line, `<field>: <message>[; did you mean '<x>'?]`, e.g.
`topics[0].partitions: must be an integer between 1 and 64, got 0`.
"""

from __future__ import annotations

from typing import Any


class SimcoreError(Exception):
    """Base class of every error raised by `simcore`."""


class ScenarioError(SimcoreError):
    """The scenario cannot be run as written.

    `field` is a path into the scenario (`consumers[0].config.auto.commit.interval.ms`,
    `topics[1].partitions`, `scenario` for the whole document, `yaml` for a syntax error);
    `allowed` says what would be accepted and `suggestion` is the closest valid name or
    value, when there is one. `line` is set for YAML/JSON syntax errors.
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        allowed: str | None = None,
        suggestion: str | None = None,
        line: int | None = None,
    ) -> None:
        self.field = field
        self.message = message
        self.allowed = allowed
        self.suggestion = suggestion
        self.line = line
        super().__init__(self._render())

    def _render(self) -> str:
        text = f"{self.field}: {self.message}"
        if self.suggestion and f"'{self.suggestion}'" not in self.message:
            text += f"; did you mean '{self.suggestion}'?"
        return " ".join(text.split())  # always one line

    def __reduce__(self) -> tuple[Any, ...]:  # keyword-only arguments need help to pickle
        kwargs = {"allowed": self.allowed, "suggestion": self.suggestion, "line": self.line}
        return (_rebuild_scenario_error, (self.field, self.message, kwargs))


def _rebuild_scenario_error(field: str, message: str, kwargs: dict[str, Any]) -> ScenarioError:
    return ScenarioError(field, message, **kwargs)


class InvariantViolation(SimcoreError):
    """An engine invariant failed; the seed and the event index replay the run."""

    def __init__(self, seed: int, step: int, detail: str) -> None:
        self.seed = seed
        self.step = step
        self.detail = detail
        super().__init__(f"invariant violated at step {step} (seed {seed}): {detail}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.seed, self.step, self.detail))


class RunBudgetExceeded(SimcoreError):
    """A run processed more events (or took longer) than its budget allows."""

    def __init__(self, events: int, reason: str) -> None:
        self.events = events
        self.reason = reason
        super().__init__(f"run stopped after {events} events: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.events, self.reason))
