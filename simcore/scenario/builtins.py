"""The built-in scenario library: YAML files in simcore/scenario/library/, in gallery order."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from simcore.kernel.errors import ScenarioError
from simcore.scenario.spec import Scenario

SCENARIO_DIR = Path(__file__).parent / "library"


@lru_cache(maxsize=1)
def builtin_scenarios() -> list[tuple[str, Scenario]]:
    """(slug, scenario) pairs; the slug is the file name without its number prefix."""
    from simcore.scenario.parse import load_scenario

    out = []
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        slug = path.stem.split("-", 1)[1] if path.stem[:2].isdigit() else path.stem
        out.append((slug, load_scenario(path)))
    return out


def builtin_scenario(slug: str) -> Scenario:
    for name, scenario in builtin_scenarios():
        if name == slug:
            return scenario
    known = ", ".join(name for name, _ in builtin_scenarios())
    raise ScenarioError("scenario", f"no built-in scenario named {slug!r}", allowed=known)
