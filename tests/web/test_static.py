"""Every front-end asset is served by the app itself (no CDN)."""

import posixpath
import re

import pytest
from django.test import Client

import simcore
from tests.web.helpers import saved

# Closing a response fires request_finished, which checks the database connection.
pytestmark = pytest.mark.django_db


def _get(client: Client, path: str) -> tuple[int, bytes]:
    response = client.get(path)
    try:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    finally:
        response.close()
    return response.status_code, body


def test_it_serves_the_vendored_plotly_basic_bundle(client: Client) -> None:
    status, body = _get(client, "/static/vendor/plotly-basic.min.js")
    assert status == 200
    assert b"plotly.js (basic - minified) v4.1.1" in body[:200]


SCRIPT = re.compile(r"<script\b([^>]*)>")
SRC = re.compile(r'\bsrc="([^"]+)"')
IMPORT = re.compile(r"""\bimport\s*(?:[\s{*][^;]*?\bfrom\s*)?["'](\.{1,2}/[^"']+)["']""")


def _scripts(page: str) -> list[tuple[str, str]]:
    """(src, the tag's attributes) of every script the page loads from a file."""
    found = []
    for attrs in SCRIPT.findall(page):
        src = SRC.search(attrs)
        if src:
            found.append((src.group(1), attrs))
    return found


def _with_imports(client: Client, urls: list[str]) -> dict[str, bytes]:
    """Every script at `urls` and every module they import, transitively, by URL."""
    loaded: dict[str, bytes] = {}
    todo = list(urls)
    while todo:
        url = todo.pop()
        if url in loaded:
            continue
        status, body = _get(client, url)
        assert status == 200, url
        loaded[url] = body
        base = url.rsplit("/", 1)[0]
        todo += [posixpath.normpath(f"{base}/{s}") for s in IMPORT.findall(body.decode())]
    return loaded


def test_the_scenario_pages_javascript_stays_under_1_5_mb(client: Client) -> None:
    slug = saved(simcore.builtin_scenario("java-auto-commit"))
    page = client.get(f"/r/{slug}").content.decode()
    scripts = [src for src, _ in _scripts(page)]
    plotly = PLOTLY_PRELOAD.findall(page)  # run by lib/charts.js after the first frame
    assert len(plotly) == 1 and "plotly-basic" in plotly[0], plotly
    loaded = _with_imports(client, scripts + plotly)
    assert "/static/js/lib/charts.js" in loaded  # imported by the modules, not named by the page
    total = sum(len(body) for body in loaded.values())
    assert total < 1_500_000, total


def _pages(client: Client) -> dict[str, str]:
    slug = saved(simcore.builtin_scenario("java-auto-commit"))
    paths = ("/", f"/r/{slug}", f"/embed/{slug}", f"/r/{slug}/share", "/courses/new")
    return {path: client.get(path).content.decode() for path in paths}


def test_pages_load_our_scripts_as_es_modules(client: Client) -> None:
    # static/js/ is ES modules (import/export): a classic <script> would fail to parse them;
    # only the vendored bundles (plotly.js, htmx) are classic scripts
    for path, page in _pages(client).items():
        ours = [(src, attrs) for src, attrs in _scripts(page) if src.startswith("/static/js/")]
        assert ours, path
        for src, attrs in ours:
            assert 'type="module"' in attrs, f"{path}: {src} is not loaded as a module"
            assert "defer" not in attrs, f"{path}: {src} (modules are deferred already)"
        for src, attrs in _scripts(page):
            if not src.startswith("/static/js/"):
                assert 'type="module"' not in attrs, f"{path}: {src} is a classic script"


PRELOAD = re.compile(r'<link rel="modulepreload" href="([^"]+)">')
PLOTLY_PRELOAD = re.compile(r'<link rel="preload" href="([^"]+)" as="script" data-plotly>')


def test_plotly_is_preloaded_not_a_script_the_first_frame_waits_for(client: Client) -> None:
    # A deferred plotly.js <script> held DOMContentLoaded (which the run's stream waits for)
    # and the main thread for its evaluation, 30-180 ms of the first frame: the pages with
    # charts only preload it, and lib/charts.js runs it once the first step is painted.
    slug = saved(simcore.builtin_scenario("java-auto-commit"))
    for path in (f"/r/{slug}", f"/embed/{slug}"):
        page = client.get(path).content.decode()
        assert not [src for src, _ in _scripts(page) if "plotly" in src], path
        (href,) = PLOTLY_PRELOAD.findall(page)
        assert _get(client, href)[0] == 200
        assert b"plotly.js (basic - minified)" in _get(client, href)[1][:200]
    charts = _get(client, "/static/js/lib/charts.js")[1]
    assert b"link[data-plotly]" in charts


def test_the_player_preloads_exactly_the_modules_it_imports(client: Client) -> None:
    # templates/playground/_player_modules.html: a module renamed, added or dropped from
    # player.js's imports must be renamed, added or dropped there too
    slug = saved(simcore.builtin_scenario("java-auto-commit"))
    imported = set(_with_imports(client, ["/static/js/player.js"])) - {"/static/js/player.js"}
    assert len(imported) >= 7, imported
    for path in (f"/r/{slug}", f"/embed/{slug}"):
        page = client.get(path).content.decode()
        assert set(PRELOAD.findall(page)) == imported, path


def test_no_module_reaches_for_the_old_global(client: Client) -> None:
    # window.Playground is gone: the modules import what they share
    for path, page in _pages(client).items():
        ours = [src for src, _ in _scripts(page) if src.startswith("/static/js/")]
        for url, body in _with_imports(client, ours).items():
            assert b"window.Playground" not in body, (path, url)


def test_it_serves_htmx_and_its_websocket_extension(client: Client) -> None:
    assert _get(client, "/static/django_htmx/htmx-2.min.js")[0] == 200
    assert _get(client, "/static/django_htmx/ext/hx-ws-2.min.js")[0] == 200
