"""Compiles simcore's engine with mypyc (`make compile`; make run, test and bench do it first).

The engine's modules — kernel, broker, producer, consumer, groups, run and report — are
strictly typed Python; mypyc turns each into a C extension from the same source, with the
same results (every built-in's timeline digest, and a digest of what it shows, are checked
on both engines by `make test`; where mypyc is not Python: docs/architecture.md, "The
compiled engine") and about 1.6× less CPU on production-shaped runs.

The extensions land next to their sources (``simcore/broker/log.cpython-311-….so``), with
``simcore/compiled.json``: each compiled module's source hash. ``simcore/_engine.py`` reads it
on import and runs the sources instead — all of them, never a mix — when a source changed
since (a stale build), when SIMCORE_SOURCE=1 is set, or when nothing was compiled.
Run: python tools/compile_engine.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIMCORE = ROOT / "simcore"
PACKAGES = ("kernel", "broker", "producer", "consumer", "groups", "run", "report")
# modules left as Python, and why
NOT_COMPILED = {
    "simcore/consumer/assignors.py": "_ListSet subclasses list, which mypyc cannot compile",
}
WORK = ROOT / ".artifacts" / "mypyc"  # generated C, objects and the build's mypy config
MANIFEST = SIMCORE / "compiled.json"
GROUP = "simcore_engine"  # the shared runtime library: simcore_engine__mypyc.*.so at the root


def engine_sources() -> list[str]:
    """The modules compiled, as paths relative to the repository root, in a fixed order."""
    found = []
    for package in PACKAGES:
        for path in sorted((SIMCORE / package).glob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if path.name != "__init__.py" and rel not in NOT_COMPILED:
                found.append(rel)
    return found


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def remove_build() -> None:
    """Forget an earlier build: its manifest first (so no half-removed build looks valid)."""
    MANIFEST.unlink(missing_ok=True)
    for built in [*SIMCORE.rglob("*.so"), *ROOT.glob(f"{GROUP}__mypyc*.so")]:
        built.unlink()


def main() -> int:
    os.chdir(ROOT)
    sources = engine_sources()
    remove_build()
    WORK.mkdir(parents=True, exist_ok=True)
    config = WORK / "mypy.ini"
    # Types as the code declares them; the strictness flags of `make lint` check the code, not
    # what is compiled. Without the Django plugin (the engine has no Django) and without the
    # dev-only stubs (types-PyYAML): `make run` compiles from requirements.txt alone.
    config.write_text(
        "[mypy]\npython_version = 3.11\n"
        f"cache_dir = {WORK / 'cache'}\n"
        "[mypy-yaml.*]\nignore_missing_imports = True\n"
    )

    from mypyc.build import mypycify  # mypy's compiler (requirements.txt)
    from setuptools import setup  # type: ignore[import-untyped]

    modules = mypycify(
        ["--config-file", str(config), *sources],
        group_name=GROUP,
        target_dir=str(WORK / "c"),
        multi_file=True,  # several C files: compiled two at a time below
    )
    setup(
        name="simcore-engine",
        ext_modules=modules,
        packages=[],
        py_modules=[],
        script_args=[
            "--quiet",
            "build_ext",
            "--inplace",
            "--parallel",
            str(os.cpu_count() or 1),
            "--build-temp",
            str(WORK / "temp"),
        ],
    )
    shutil.rmtree(ROOT / "build", ignore_errors=True)  # setuptools' empty build/lib
    manifest = {
        "python": sys.implementation.cache_tag,
        "modules": {rel[:-3].replace("/", "."): source_hash(ROOT / rel) for rel in sources},
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"compiled {len(sources)} engine modules with mypyc -> {MANIFEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
