"""Golden digests: every built-in scenario's run identity, pinned.

A change that moves a digest changes what some run does; that must be a conscious
decision. Regenerate with ``SIMCORE_UPDATE_GOLDEN=1 pytest tests/simcore/test_golden.py``
and say why in the commit message.
"""

import json
import os
from pathlib import Path

import pytest

import simcore

pytestmark = pytest.mark.both_engines

GOLDEN = Path(__file__).with_name("golden_digests.json")


def current() -> dict[str, str]:
    return {slug: simcore.simulate(sc).digest for slug, sc in simcore.builtin_scenarios()}


def test_it_keeps_every_builtins_digest():
    digests = current()
    if os.environ.get("SIMCORE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    pinned = json.loads(GOLDEN.read_text())
    assert digests == pinned
