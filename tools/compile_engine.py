"""Compiles simcore's engine with mypyc (`make compile`; make run, test and bench do it first).

The engine's modules — kernel, broker, producer, consumer, groups, run and report — are
strictly typed Python; mypyc turns each into a C extension from the same source, with the
same results (every built-in's timeline digest, and a digest of what it shows, are checked
on both engines by `make test`; where mypyc is not Python: docs/architecture.md, "The
compiled engine") and about 3.5× less CPU on production-shaped runs (200 k keyed records
over 60 partitions at RF 3: 2.5 s from the sources, 0.7 s compiled).

The extensions land next to their sources (``simcore/broker/log.cpython-311-….so``), with
``simcore/compiled.json``: each compiled module's source hash. ``simcore/_engine.py`` reads it
on import and runs the sources instead — all of them, never a mix — when a source changed
since (a stale build), when SIMCORE_SOURCE=1 is set, or when nothing was compiled.

The C is built twice, profile-guided (GCC's -fprofile-generate / -fprofile-use, as CPython
itself is built): first with counters, then — after a training run of production-shaped
scenarios (``TRAINING``, a few seconds) — again, optimised for the branches and calls the
training took; both builds are link-time optimised over the whole library (``WHOLE_LIBRARY``).
Only the machine code's layout and inlining change, never what it computes (no fast-math:
the digests are checked on the result like any build). On the scaling benchmark's big run:
about 6 % less CPU from the profile (for about two more minutes of build), and 15-20 % less
again from the link-time optimisation (no longer to build). Should the optimised build or the
training fail, the plain build (no profile, no LTO) is made instead, and the reason printed.
Run: python tools/compile_engine.py
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
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
PROFILE = WORK / "profile"  # the counters of the training run (GCC's .gcda files)
# Link-time optimisation over the whole library: mypyc's runtime helpers (int_ops.c,
# list_ops.c, dict_ops.c: boxing an int, indexing a list, iterating a dict) and each module's
# C are separate files, so without it every such helper is a call across files that GCC
# cannot inline; -fno-semantic-interposition lets it inline the library's exported functions
# into their callers (as CPython's own build does). -O3 again at the link, where LTO compiles.
# -fno-plt: a call into the interpreter (PyList_Append, _Py_Dealloc, …) jumps through the
# GOT at once, not through a PLT stub first (an indirect jump less per call).
WHOLE_LIBRARY = ["-flto=auto", "-fno-semantic-interposition", "-O3", "-fno-plt"]
# The training run of the profiled build: every built-in scenario (each chapter's code paths
# at least once), then a production-shaped topic — 30 partitions at RF 3, keyed and null keys,
# both client families — smaller than, and unlike, the benchmark's own cells (bench/ is not
# even in the container's build context). It needs nothing but the engine.
TRAINING = """
import simcore
assert simcore.ENGINE == "compiled", simcore.ENGINE
for _slug, scenario in simcore.builtin_scenarios():
    simcore.simulate(scenario).summary()
for client in ("java", "librdkafka"):
    for key in ("k{i}", None):
        producer = {"id": "p", "topic": "t", "messages": 60_000, "rate_per_s": 12_000,
                    "client": client, "config": {"acks": "all"}}
        if key:
            producer["key"] = key
        data = {
            "name": "training", "seed": 7, "duration_ms": 8_000, "brokers": 5,
            "topics": [{"name": "t", "partitions": 30, "replication_factor": 3,
                        "config": {"min.insync.replicas": 2}}],
            "producers": [producer],
            "consumers": [{"id": f"c{n}", "group": "g", "topics": ["t"], "client": client,
                           "config": {"auto.offset.reset": "earliest"}} for n in range(4)],
        }
        simcore.simulate(simcore.parse_scenario(data)).summary()
"""


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
    shutil.rmtree(PROFILE, ignore_errors=True)
    try:
        build(sources, [*WHOLE_LIBRARY, f"-fprofile-generate={PROFILE}",
                        "-fprofile-update=single"])  # fmt: skip
        subprocess.run([sys.executable, "-c", TRAINING], cwd=ROOT, check=True)
        # -fprofile-partial-training: what the training did not run stays optimised as usual
        # (not for size); -Wno-missing-profile: modules whose code it never entered
        build(sources, [*WHOLE_LIBRARY, f"-fprofile-use={PROFILE}",
                        "-fprofile-partial-training", "-Wno-missing-profile"])  # fmt: skip
        how = "profile-guided, link-time optimised"
    except (subprocess.CalledProcessError, SystemExit, OSError) as error:
        print(f"the optimised build failed ({error}): building without a profile or LTO")
        build(sources, [])
        how = "without a profile"
    # setuptools' empty build/lib, removed once both builds are done (distutils remembers
    # the directories it made, and would not make them again for the second build)
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    print(f"compiled {len(sources)} engine modules with mypyc ({how}) -> "
          f"{MANIFEST.relative_to(ROOT)}")  # fmt: skip
    return 0


def build(sources: list[str], cflags: list[str]) -> None:
    """One build of every engine module (the previous one removed first), with the manifest
    that makes simcore load it."""
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
    for module in modules:
        module.extra_compile_args = [*module.extra_compile_args, *cflags]
        module.extra_link_args = [*module.extra_link_args, *cflags]
    setup(
        name="simcore-engine",
        ext_modules=modules,
        packages=[],
        py_modules=[],
        script_args=[
            "--quiet",
            "build_ext",
            "--inplace",
            "--force",  # every object again: the C is the same for both builds, the flags not
            "--parallel",
            str(os.cpu_count() or 1),
            "--build-temp",
            str(WORK / "temp"),
        ],
    )
    manifest = {
        "python": sys.implementation.cache_tag,
        "modules": {rel[:-3].replace("/", "."): source_hash(ROOT / rel) for rel in sources},
    }
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
