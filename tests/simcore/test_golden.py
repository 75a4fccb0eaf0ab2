"""Golden digests: every built-in scenario's run identity, and what it shows, pinned.

A change that moves a digest changes what some run does (or how it is shown); that must be
a conscious decision. Regenerate with ``SIMCORE_UPDATE_GOLDEN=1 pytest
tests/simcore/test_golden.py`` and say why in the commit message.

``make test`` runs these on the compiled engine and again on the sources: the views digest
is how a difference between them shows, where the timeline agrees but a value's type does
not (mypyc once turned whole numbers into floats: ``records-lag-max`` 3.0 for 3).
"""

import hashlib
import json
import os
from pathlib import Path

import pytest

import simcore

pytestmark = pytest.mark.both_engines

GOLDEN = Path(__file__).with_name("golden_digests.json")
GOLDEN_VIEWS = Path(__file__).with_name("golden_views.json")


@pytest.fixture(scope="module")
def results() -> dict[str, simcore.Result]:
    return {slug: simcore.simulate(sc) for slug, sc in simcore.builtin_scenarios()}


def _pinned(path: Path, now: dict[str, str]) -> dict[str, str]:
    if os.environ.get("SIMCORE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(now, indent=2, sort_keys=True) + "\n")
    pinned: dict[str, str] = json.loads(path.read_text())
    return pinned


def test_it_keeps_every_builtins_digest(results):
    digests = {slug: result.digest for slug, result in results.items()}
    assert digests == _pinned(GOLDEN, digests)


def test_it_keeps_what_every_builtin_shows(results):
    """The summary, every frame (offsets, groups, events) and the client metrics at every
    20th snapshot and the last, as JSON."""
    views = {}
    for slug, result in results.items():
        snapshots = len(result.sim.recorder.snapshots)
        metrics = [result.metrics(i) for i in [*range(0, snapshots, 20), snapshots - 1]]
        shown = json.dumps(
            {"summary": result.summary(), "frames": result.frames(), "metrics": metrics},
            sort_keys=True,
        )
        views[slug] = hashlib.sha256(shown.encode()).hexdigest()
    assert views == _pinned(GOLDEN_VIEWS, views)
