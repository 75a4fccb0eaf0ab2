"""The compiled engine (tools/compile_engine.py, simcore/_engine.py): a build is used only
while it matches every source; otherwise, or with SIMCORE_SOURCE=1, all of simcore runs from
its sources. That both engines run every built-in to the same digest is test_golden.py's
job (`make test` runs it on each)."""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import simcore
from simcore import _engine

ROOT = Path(__file__).resolve().parents[2]


def _package(tmp_path: Path) -> Path:
    """A stand-in for simcore/ with one compiled module, as the build leaves it."""
    package = tmp_path / "simcore"
    (package / "broker").mkdir(parents=True)
    source = package / "broker" / "log.py"
    source.write_text("X = 1\n")
    manifest = {
        "python": sys.implementation.cache_tag,
        "modules": {"simcore.broker.log": hashlib.sha256(source.read_bytes()).hexdigest()},
    }
    (package / "compiled.json").write_text(json.dumps(manifest))
    return package


def test_a_current_build_is_used(tmp_path):
    assert _engine.choose(_package(tmp_path), {}) == ("compiled", "")


def test_a_changed_source_makes_the_build_stale_and_names_the_module(tmp_path):
    package = _package(tmp_path)
    (package / "broker" / "log.py").write_text("X = 2\n")
    engine, why = _engine.choose(package, {})
    assert engine == "source"
    assert "stale" in why and "simcore.broker.log" in why


def test_a_deleted_source_makes_the_build_stale(tmp_path):
    package = _package(tmp_path)
    (package / "broker" / "log.py").unlink()
    assert _engine.choose(package, {})[0] == "source"


def test_no_build_another_python_or_the_setting_mean_the_sources(tmp_path):
    package = _package(tmp_path)
    assert _engine.choose(package, {"SIMCORE_SOURCE": "1"}) == ("source", "SIMCORE_SOURCE is set")
    manifest = json.loads((package / "compiled.json").read_text())
    manifest["python"] = "cpython-39"
    (package / "compiled.json").write_text(json.dumps(manifest))
    assert "another Python" in _engine.choose(package, {})[1]
    (package / "compiled.json").unlink()
    assert "not compiled" in _engine.choose(package, {})[1]


def _loaded_from_extension(name: str) -> bool:
    path = importlib.import_module(name).__file__ or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_this_process_runs_the_engine_it_says_it_runs():
    """Under `make test` this is the compiled engine (the Makefile checks ENGINE first);
    every module of the build is then an extension, never a mix."""
    manifest_path = ROOT / "simcore" / "compiled.json"
    names = (
        sorted(json.loads(manifest_path.read_text())["modules"])
        if manifest_path.exists()
        else ["simcore.broker.log", "simcore.kernel.engine", "simcore.consumer.consumer"]
    )
    compiled = [name for name in names if _loaded_from_extension(name)]
    assert compiled == (names if simcore.ENGINE == "compiled" else [])


def test_simcore_source_runs_every_module_from_its_source():
    """Even with a current build next to them (under `make test`), the setting loads the
    .py files: mutation testing and the second golden run rely on it."""
    code = (
        "import json, simcore, simcore.broker.log, simcore.run.simulation, simcore.kernel.engine;"
        "print(json.dumps([simcore.ENGINE, simcore.broker.log.__file__,"
        " simcore.run.simulation.__file__, simcore.kernel.engine.__file__]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "SIMCORE_SOURCE": "1"},
        capture_output=True,
        text=True,
        check=True,
    )
    engine, *files = json.loads(out.stdout)
    assert engine == "source"
    assert all(f.endswith(".py") for f in files), files


def test_what_a_result_derives_is_computed_once_on_either_engine():
    """mypyc compiles ``functools.cached_property`` into a plain property, computed on
    every read: a transactional run's frames rebuilt its transactions' view for every
    partition of every frame (bench/txn-pipeline.yaml: 4.9 s instead of 0.4 s)."""
    result = simcore.simulate(simcore.builtin_scenario("txn-read-committed-vs-uncommitted"))
    assert result.txn_view is not None and result.txn_view is result.txn_view
    assert result.ledger is result.ledger
    assert result.digest is result.digest


def test_no_compiled_module_uses_a_decorator_mypyc_compiles_differently():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from compile_engine import engine_sources
    finally:
        sys.path.remove(str(ROOT / "tools"))
    decorators = re.compile(r"^\s*@(functools\.)?(cached_property|cache|lru_cache)\b", re.M)
    compiled = engine_sources()
    assert len(compiled) > 40
    offending = [path for path in compiled if decorators.search((ROOT / path).read_text())]
    assert offending == []
