"""simcore's packages depend one way (docs/architecture.md, "Packages"): each may import only
the packages listed for it, type-only imports included, so the import graph has no cycle
between packages and a reader knows from a file's folder what it may rely on.
"""

import ast
from pathlib import Path

import pytest

SIMCORE = Path(__file__).resolve().parents[2] / "simcore"

ALLOWED = {
    "kernel": set(),
    "security": {"kernel"},
    "scenario": {"kernel", "security"},
    "broker": {"kernel", "scenario"},
    "groups": {"kernel", "scenario"},
    "producer": {"kernel", "scenario", "broker"},
    "consumer": {"kernel", "scenario", "broker", "groups"},
    "run": {"kernel", "scenario", "security", "broker", "groups", "producer", "consumer"},
    "report": {"kernel", "scenario", "security", "broker", "groups", "producer", "consumer", "run"},
}


def imported_packages(path: Path) -> dict[str, int]:
    """Each simcore package this file imports (at any depth, TYPE_CHECKING too), by line."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:
                raise AssertionError(f"{path}:{node.lineno}: use absolute simcore imports")
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "simcore" and len(parts) > 1 and parts[1] in ALLOWED:
                found.setdefault(parts[1], node.lineno)
    return found


def package_files() -> list[tuple[str, Path]]:
    return [
        (package, path)
        for package in sorted(ALLOWED)
        for path in sorted((SIMCORE / package).rglob("*.py"))
    ]


def test_every_module_lives_in_a_package():
    loose = sorted(p.name for p in SIMCORE.glob("*.py"))
    # _engine.py picks the compiled engine or the sources before any package is imported
    assert loose == ["__init__.py", "__main__.py", "_engine.py", "cli.py"]
    assert sorted(p.name for p in SIMCORE.iterdir() if p.is_dir() and p.name != "__pycache__") == (
        sorted(ALLOWED)
    )


@pytest.mark.parametrize(("package", "path"), package_files(), ids=lambda v: str(v))
def test_imports_follow_the_layers(package, path):
    wrong = {
        other: line
        for other, line in imported_packages(path).items()
        if other != package and other not in ALLOWED[package]
    }
    assert not wrong, f"{path.relative_to(SIMCORE)} imports {wrong} (allowed: {ALLOWED[package]})"


def test_the_allowed_graph_has_no_cycle():
    def visit(node: str, depth: int) -> None:
        assert depth <= len(ALLOWED), f"cycle through {node}"
        for dep in ALLOWED[node]:
            visit(dep, depth + 1)

    for package in ALLOWED:
        visit(package, 0)


def test_the_checker_sees_a_type_only_import(tmp_path):
    """The check counts imports under TYPE_CHECKING and inside functions."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from simcore.report.result import Result\n"
        "def f():\n    from simcore.run import frames\n"
    )
    assert imported_packages(source) == {"report": 3, "run": 5}
