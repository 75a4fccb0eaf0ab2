"""Which engine this process runs: the modules mypyc compiled (tools/compile_engine.py, run
by `make compile`) or their Python sources. Imported first by ``simcore/__init__.py``.

The compiled extensions sit next to their sources, and Python's import system prefers an
extension to a ``.py`` file. So a build is used only while ``simcore/compiled.json`` — each
compiled module's source hash — still matches every source; when one changed since (a stale
build), when SIMCORE_SOURCE=1 is set (mutation testing, debugging, `make test`'s check that
both engines agree) or when no build exists, every simcore module is imported from its
source — all of them: a mix of compiled and source modules is never loaded, since compiled
code relies on the compiled classes of the modules it was built with.

Not part of the simulation (no run's outcome depends on it); reading files and the
environment here is about loading code, not about time or order.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "compiled.json"


def stale_modules(manifest: dict[str, object], package: Path) -> list[str]:
    """The compiled modules whose source differs from the one compiled (or is gone)."""
    modules = manifest.get("modules")
    if not isinstance(modules, dict):
        return ["(no module list)"]
    stale = []
    for name, digest in sorted(modules.items()):
        path = package.parent.joinpath(*name.split(".")).with_suffix(".py")
        try:
            current = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            current = ""
        if current != digest:
            stale.append(name)
    return stale


def choose(package: Path = PACKAGE, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """("compiled", "") or ("source", why)."""
    env = os.environ if environ is None else environ
    if env.get("SIMCORE_SOURCE", "") not in ("", "0"):
        return "source", "SIMCORE_SOURCE is set"
    manifest_path = package / "compiled.json"
    if not manifest_path.exists():
        return "source", "not compiled (make compile builds it)"
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, ValueError):
        return "source", "compiled.json is unreadable (make compile rebuilds it)"
    if not isinstance(manifest, dict) or manifest.get("python") != sys.implementation.cache_tag:
        return "source", "compiled for another Python (make compile rebuilds it)"
    stale = stale_modules(manifest, package)
    if stale:
        shown = ", ".join(stale[:3]) + (f" and {len(stale) - 3} more" if len(stale) > 3 else "")
        return "source", f"the build is stale: {shown} changed since (make compile rebuilds it)"
    return "compiled", ""


class SourceFinder(importlib.abc.MetaPathFinder):
    """Finds every ``simcore.*`` module as its ``.py`` source, ahead of any extension."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("simcore.") or not path:
            return None
        name = fullname.rpartition(".")[2]
        for entry in path:
            package = Path(entry, name, "__init__.py")
            if package.exists():
                return importlib.util.spec_from_file_location(
                    fullname, package, submodule_search_locations=[str(package.parent)]
                )
            module = Path(entry, f"{name}.py")
            if module.exists():
                return importlib.util.spec_from_file_location(fullname, module)
        return None


def select() -> tuple[str, str]:
    """Decides the engine for this process; with the sources, installs the finder that
    imports them. Returns (engine, why); a stale build is also said on stderr, once."""
    engine, why = choose()
    if engine == "source":
        if not any(isinstance(f, SourceFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, SourceFinder())
        if "stale" in why:
            print(f"simcore: running the Python sources, {why}", file=sys.stderr)
    return engine, why
