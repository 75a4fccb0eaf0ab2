"""Issue 12's "done when": a wiki page (a plain HTML page served over HTTP from another
port) embeds `acks-1-leader-dies` in a 600 px iframe at `?at=`, and the reader sees the
cluster panel, the leader change and the acknowledged-then-lost list; the iframe sizes
itself from the height the embed reports (the snippet the share page offers)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Frame, Page, expect

from playground import embeds, scenarios
from simcore import builtin_scenario
from tests.browser.helpers import EVERY_FRAME

AT_MS = 9200  # after broker-1's election (9055 ms), before broker-0 restarts (12055 ms)


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def wiki(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static site on another port: (its URL, the directory it serves)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def _embed_frame(page: Page) -> Frame:
    handle = page.locator("iframe[data-playground-embed]").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    return frame


def test_a_wiki_page_embeds_the_leader_death_at_a_step(
    page: Page, live_url: str, wiki: tuple[str, Path], artifacts: Path
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    wiki_url, wiki_dir = wiki
    snippet = embeds.snippet(f"{live_url}/embed/{slug}?at={AT_MS}", "acks=1, leader dies")
    snippet = snippet.replace('width="640"', 'width="600"')  # the wiki's column
    (wiki_dir / "incident.html").write_text(
        "<!doctype html><meta charset=utf-8><title>Incident 42</title>"
        "<body style='margin:0;font-family:sans-serif'><h1>Incident 42</h1>"
        f"<p>What happened, replayed:</p>{snippet}"
        "<p id='after'>Text after the embed.</p></body>"
    )
    page.set_viewport_size({"width": 800, "height": 900})
    page.goto(f"{wiki_url}/incident.html")
    iframe = page.locator("iframe[data-playground-embed]")
    assert iframe.evaluate("(f) => f.getBoundingClientRect().width") == 600
    frame = _embed_frame(page)
    frame.wait_for_function(EVERY_FRAME)

    # the verdict, first, inside the iframe's first screen
    verdict = frame.locator(".embed-head .headline .verdict")
    expect(verdict).to_have_text("Messages lost")
    assert verdict.evaluate("(v) => v.getBoundingClientRect().bottom") < 300

    # the cluster at the step: broker-0 dead, broker-1 leading in epoch 1
    cluster = frame.locator("#cluster")
    expect(cluster).to_be_visible()
    expect(cluster.locator('.brokers [data-broker="0"] .bstate')).to_have_text("dead")
    expect(cluster.locator('.brokers [data-broker="1"] .leads')).to_have_text("leads orders-0")
    expect(cluster.locator('.partition[data-partition="orders-0"] .phead')).to_contain_text(
        "leader broker-1 · epoch 1"
    )
    shown_t = int(frame.evaluate("() => document.getElementById('player').dataset.linkAt"))
    assert AT_MS <= shown_t < 12055

    # the leader change marked in the replica timeline, and the records it lost
    frame.wait_for_function("() => document.getElementById('replica-chart').dataset.drawn")
    marks = frame.evaluate(
        "() => document.getElementById('replica-chart').layout.annotations.map((a) => a.text)"
    )
    assert "leader → broker-1 (epoch 1)" in marks
    lost = cluster.locator(".lost-list li")
    expect(lost).to_have_count(5)
    assert [lost.nth(k).get_attribute("data-message") for k in range(5)] == [
        f"p1#{k}" for k in range(5)
    ]

    # the iframe took the height the embed reported: no scroll bar inside it
    page.wait_for_function(
        "() => { const f = document.querySelector('iframe[data-playground-embed]');"
        " return f.style.height && f.style.height !== '720px'; }"
    )
    content = int(frame.evaluate("() => document.documentElement.scrollHeight"))
    outer = iframe.evaluate("(f) => f.getBoundingClientRect().height")
    assert abs(outer - content) <= 1
    assert content > 720  # it grew beyond the snippet's initial height to show everything
    page.screenshot(path=artifacts / "embed-wiki-600.png", full_page=True)
    assert errors == []


def test_each_chart_downloads_as_png_and_svg_named_after_the_scenario(
    page: Page, live_url: str, tmp_path: Path
) -> None:
    slug = scenarios.save(builtin_scenario("acks-1-leader-dies"))
    page.goto(f"{live_url}/embed/{slug}?panels=verdict,stage&autoplay=1")
    page.wait_for_function(EVERY_FRAME)
    # autoplay=1: the player starts by itself once every frame is in
    page.wait_for_function("() => document.getElementById('player').dataset.playing === 'true'")
    bar = page.locator("#chart + .chart-downloads")
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<svg")):
        with page.expect_download() as info:
            bar.locator(f'button[data-format="{fmt}"]').click()
        download = info.value
        name = download.suggested_filename
        assert name.startswith("acks-1-the-leader-acknowledges") and name.endswith(
            f"-offsets.{fmt}"
        )
        saved_to = tmp_path / name
        download.save_as(saved_to)
        assert saved_to.read_bytes().lstrip()[: len(magic)] == magic
