"""Mutation testing, bounded in time: mutmut mutates the modules in ``[tool.mutmut]``
(pyproject.toml) one change at a time and runs their tests against each mutant; a mutant
that no test notices "survives". Prints the score and the survivors (``mutmut show NAME``
prints a survivor's change). ``make mutate``; ``MUTATE_TIMEOUT`` (seconds, default 1500)
bounds the run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "mutants"
# mutmut's exit codes per mutant: the tests failed (killed), passed (survived), ran out
# of time, or found no test covering the mutated function
KILLED, SURVIVED, NO_TESTS = {1, 3}, {0}, {5, 33}
TIMEOUTS = {24, -24, 36, 152}


def main() -> int:
    shutil.rmtree(MUTANTS, ignore_errors=True)
    timeout = int(os.environ.get("MUTATE_TIMEOUT", "1500"))
    mutmut = Path(sys.executable).with_name("mutmut")
    try:
        subprocess.run(
            [str(mutmut), "run", "--max-children", "2"],
            cwd=ROOT,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            check=False,
        )
        finished = True
    except subprocess.TimeoutExpired:
        finished = False
    counts: Counter[str] = Counter()
    survivors: list[str] = []
    for meta in sorted(MUTANTS.rglob("*.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if code is None:
                kind = "not run"
            elif code in KILLED:
                kind = "killed"
            elif code in SURVIVED or code in NO_TESTS:
                kind = "survived"
                survivors.append(name)
            elif code in TIMEOUTS:
                kind = "timeout"
            else:
                kind = f"exit {code}"
            counts[kind] += 1
    ran = counts["killed"] + counts["survived"] + counts["timeout"]
    score = (counts["killed"] + counts["timeout"]) / ran if ran else 0.0
    print(f"mutation score: {score:.1%} ({counts['killed']} killed, {counts['timeout']} timed out,")
    print(
        f"  {counts['survived']} survived, {counts['not run']} not run)"
        + ("" if finished else f" — stopped after {timeout} s")
    )
    for name in survivors:
        print(f"  survived: {name}")
    return 0 if ran else 1


if __name__ == "__main__":
    sys.exit(main())
