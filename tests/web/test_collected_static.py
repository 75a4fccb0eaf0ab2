"""The `make run` / Dockerfile path: collectstatic into hashed, compressed files, with the
ES modules' imports pointing at the hashed names (playground/static_storage.py)."""

import json
import os
import posixpath
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client, override_settings

from playground import pagecache
from simcore import builtin_scenario
from tests.web.helpers import saved

STORAGE = "playground.static_storage.ModuleManifestStaticFilesStorage"
COLLECTED = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": STORAGE},
}
# every specifier of a static import, an `export … from` or a dynamic import()
IMPORT = re.compile(
    r"""(?:\bimport\s*(?:[\s{*][^;]*?\bfrom\s*)?|\bexport\s[^;]*?\bfrom\s*|\bimport\()\s*["']([^"']+)["']"""
)
PRELOAD = re.compile(r'<link rel="modulepreload" href="/static/([^"]+)">')
HASHED = re.compile(r"\.[0-9a-f]{12}\.")  # name.<hash>.ext
SOURCE = Path(settings.BASE_DIR) / "static"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("static")
    with override_settings(STATIC_ROOT=root, STORAGES=COLLECTED):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


def _manifest(root: Path) -> dict[str, str]:
    paths: dict[str, str] = json.loads((root / "staticfiles.json").read_text())["paths"]
    return paths


def test_make_run_collects_with_the_module_aware_storage() -> None:
    # settings read DJANGO_STATIC_COLLECTED at import: a fresh interpreter, as `make run` sets it
    code = "from playground import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    env = {
        **os.environ,
        "DJANGO_STATIC_COLLECTED": "1",
        "DJANGO_SETTINGS_MODULE": "playground.settings",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == STORAGE


def test_collectstatic_gives_every_asset_a_hashed_compressed_copy(collected: Path) -> None:
    with override_settings(STATIC_ROOT=collected, STORAGES=COLLECTED):
        urls = [
            static(name)
            for name in (
                "vendor/plotly-basic.min.js",
                "js/player.js",
                "js/lib/dom.js",
                "css/playground.css",
                "django_htmx/htmx-2.min.js",
            )
        ]
    for url in urls:
        hashed = collected / url.removeprefix("/static/")
        assert HASHED.search(hashed.name), hashed.name
        assert hashed.exists()
        assert hashed.with_name(hashed.name + ".gz").exists()


def test_every_import_of_a_collected_module_names_a_collected_hashed_file(collected: Path) -> None:
    manifest = _manifest(collected)
    hashed_files = set(manifest.values())
    modules = sorted(name for name in manifest if name.startswith("js/") and name.endswith(".js"))
    assert "js/player.js" in modules and "js/lib/charts.js" in modules
    imports = 0
    for name in modules:
        stored = manifest[name]
        text = (collected / stored).read_text()
        for specifier in IMPORT.findall(text):
            imports += 1
            assert specifier.startswith("./") or specifier.startswith("../"), (name, specifier)
            target = posixpath.normpath(posixpath.join(posixpath.dirname(stored), specifier))
            assert target in hashed_files, (
                f"{stored} imports {specifier}: not a collected hashed file"
            )
            assert (collected / target).is_file()
    assert imports >= 20, imports  # the modules do import each other: the regex found them


def test_modules_import_the_same_hashed_file_so_the_browser_loads_it_once(collected: Path) -> None:
    # player.js and cluster.js share lib/charts.js (its first-frame state): one URL, one instance
    manifest = _manifest(collected)
    charts = posixpath.basename(manifest["js/lib/charts.js"])
    for name in ("js/player.js", "js/cluster.js", "js/groups.js", "js/offsets-chart.js"):
        text = (collected / manifest[name]).read_text()
        named = {Path(s).name for s in IMPORT.findall(text) if "charts" in s}
        assert named == {charts}, (name, named)


def test_the_vendored_bundles_are_copied_byte_for_byte(collected: Path) -> None:
    # the import-rewriting patterns apply to js/ alone: minified bundles are not parsed
    manifest = _manifest(collected)
    for name in ("vendor/plotly-basic.min.js", "vendor/axe.min.js"):
        assert (collected / manifest[name]).read_bytes() == (SOURCE / name).read_bytes(), name


def _imported_by(root: Path, stored: str) -> set[str]:
    """The collected files `stored` imports, transitively (itself included)."""
    seen: set[str] = set()
    todo = [stored]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for specifier in IMPORT.findall((root / name).read_text()):
            todo.append(posixpath.normpath(posixpath.join(posixpath.dirname(name), specifier)))
    return seen


@pytest.mark.django_db
def test_the_pages_preload_the_hashed_modules_the_player_imports(collected: Path) -> None:
    # a preload under another URL than the import's would fetch every module twice
    slug = saved(builtin_scenario("java-auto-commit"))
    player = _manifest(collected)["js/player.js"]
    graph = _imported_by(collected, player)
    pagecache.reset()  # pages rendered by other tests name the unhashed files
    try:
        with override_settings(STATIC_ROOT=collected, STORAGES=COLLECTED):
            pages = [
                Client().get(path).content.decode() for path in (f"/r/{slug}", f"/embed/{slug}")
            ]
    finally:
        pagecache.reset()
    for page in pages:
        assert f'<script type="module" src="/static/{player}">' in page
        assert set(PRELOAD.findall(page)) == graph - {player}
