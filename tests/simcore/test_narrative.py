"""Every event kind the engine records has its own sentence (no generic fallback)."""

import re
from pathlib import Path

from simcore.report.narrative import _TEXT

SIMCORE = Path(__file__).resolve().parents[2] / "simcore"


def test_it_describes_every_recorded_event_kind():
    recorded = set()
    for path in SIMCORE.rglob("*.py"):
        recorded |= set(re.findall(r'\.record\(\s*"([a-z_]+)"', path.read_text()))
    assert recorded and recorded <= set(_TEXT), sorted(recorded - set(_TEXT))


def test_it_renders_every_event_of_every_built_in():
    import simcore

    for _slug, scenario in simcore.builtin_scenarios():
        result = simcore.simulate(scenario)
        texts = [result.event_dict(i)["text"] for i in range(len(result.events))]
        assert all(
            t and not t.endswith(f": {e[1]}") for t, e in zip(texts, result.events, strict=True)
        )
