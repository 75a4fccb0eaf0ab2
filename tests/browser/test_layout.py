"""Every page fits the screen's width: no sideways scrolling on a projector, a laptop, a
tablet or a phone (issue 10)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from playground import scenarios
from simcore import Scenario, builtin_scenario
from tests.browser.helpers import EVERY_FRAME, scrub_to_time

WIDTHS = (1366, 1024, 768, 390)


def _overflow(page: Page) -> int:
    # every panel laid out: one off screen (`content-visibility: auto`) counts only once the
    # browser reaches it, and the producers table then pushed the page 173 px wide at 768 px
    return int(
        page.evaluate(
            """() => { const s = document.createElement('style');
                s.textContent = '* { content-visibility: visible !important; }';
                document.head.append(s);
                const root = document.documentElement;
                const o = root.scrollWidth - root.clientWidth; s.remove(); return o; }"""
        )
    )


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(
    page: Page, live_url: str, calm_scenario: Scenario, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    slug = scenarios.save(calm_scenario)
    other = scenarios.save(builtin_scenario("librdkafka-store-after-processing"))
    busy = scenarios.save(builtin_scenario("eager-scale-out"))  # groups, lag, 4 consumers
    lost = scenarios.save(builtin_scenario("acks-1-leader-dies"))  # replicas, lost records
    paths = ("/", f"/r/{slug}", f"/r/{busy}", f"/r/{lost}", f"/compare/{slug}/{other}")
    for path in (*paths, f"/embed/{slug}"):
        page.goto(live_url + path)
        page.wait_for_load_state("networkidle")
        assert _overflow(page) <= 0, f"{path} at {width} px scrolls sideways"


# The offsets chart's legend shows up to 12 lines: these draw 10 (2 partitions, a group
# on each) and 12 (6 partitions, no group), with names up to 26 characters.
LEGEND_SCENARIOS = ("txn-zombie-fencing", "keys-same-partition")
CHART_BOXES = """() => {
    const chart = document.getElementById('chart');
    const box = (node) => { const b = node.getBoundingClientRect(); return [b.top, b.bottom]; };
    const rows = new Set([...chart.querySelectorAll('.legend .traces')]
        .map((t) => Math.round(t.getBoundingClientRect().top)));
    return {
        legend: box(chart.querySelector('.legend')),
        title: box(chart.querySelector('.g-xtitle')),
        ticks: [...chart.querySelectorAll('.xtick text')].map(box),
        figure: box(chart.querySelector('.main-svg')),
        rows: rows.size,
        estimated: Number(chart.dataset.legendRows),
    };
}"""


@pytest.mark.parametrize("width", [1366, 1024, 390])
def test_the_offsets_charts_legend_keeps_clear_of_the_axis_title(
    page: Page, live_url: str, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    for name in LEGEND_SCENARIOS:
        page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario(name))}")
        page.locator("#chart .legend").wait_for()
        b = page.evaluate(CHART_BOXES)
        where = f"{name} at {width} px: {b}"
        assert all(tick[1] <= b["title"][0] + 0.5 for tick in b["ticks"]), where
        assert b["title"][1] <= b["legend"][0] + 0.5, where
        assert b["legend"][1] <= b["figure"][1] + 0.5, where
        assert b["rows"] == b["estimated"], where  # no more margin than the rows need


LEGEND_CLEAR = f"""() => {{ const b = ({CHART_BOXES})();
    return b.rows === b.estimated && b.title[1] <= b.legend[0] + 0.5
        && b.legend[1] <= b.figure[1] + 0.5; }}"""


def test_the_offsets_charts_legend_is_refitted_when_the_window_is_resized(
    page: Page, live_url: str
) -> None:
    # txn-zombie-fencing's 10 names: fewer legend rows at 1366 px than at 390 px; the
    # estimate made at draw time alone left the wrapped legend over the axis title
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('txn-zombie-fencing'))}")
    page.locator("#chart .legend").wait_for()
    page.wait_for_function(LEGEND_CLEAR)
    wide = page.evaluate(CHART_BOXES)["rows"]
    page.set_viewport_size({"width": 390, "height": 900})  # 3 rows at 1366 px, 10 here
    page.wait_for_function(f"() => ({LEGEND_CLEAR})() && ({CHART_BOXES})().rows > {wide}")
    page.set_viewport_size({"width": 1366, "height": 900})  # and back: no margin to spare
    page.wait_for_function(f"() => ({LEGEND_CLEAR})() && ({CHART_BOXES})().rows === {wide}")


LABELS = """() => [...document.querySelectorAll('.strips .cells .cell')]
    .filter((c) => c.textContent)
    .map((c) => ({ text: c.textContent, width: c.getBoundingClientRect().width,
                   fits: c.scrollWidth <= c.clientWidth }))"""


def test_strip_cells_are_numbered_only_where_a_number_fits(page: Page, live_url: str) -> None:
    # payments-1 holds 32 records: about 24 px a cell at 1366 px, 7 px on a phone
    slug = scenarios.save(builtin_scenario("txn-zombie-fencing"))
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_url}/r/{slug}")
    page.wait_for_function(EVERY_FRAME)
    wide = page.evaluate(LABELS)
    assert len(wide) >= 32 and all(c["fits"] and c["width"] >= 14 for c in wide), wide
    page.set_viewport_size({"width": 390, "height": 900})  # turned narrow: labels go
    page.wait_for_function(f"() => ({LABELS})().length === 0")
    page.reload()
    page.wait_for_function(EVERY_FRAME)
    assert page.evaluate(LABELS) == []
    page.set_viewport_size({"width": 1366, "height": 900})  # and come back
    page.wait_for_function(f"() => ({LABELS})().length >= 32")


REPLICA_LABELS = """() => [...document.querySelectorAll('#cluster .replica .cell')]
    .filter((c) => c.textContent)
    .map((c) => ({ text: c.textContent, width: c.getBoundingClientRect().width,
                   fits: c.scrollWidth <= c.clientWidth }))"""


def test_replica_cells_are_numbered_only_where_a_number_fits(page: Page, live_url: str) -> None:
    # the replica strips follow the partition strips' rule (lib/dom.js roomForLabels): the
    # idempotent producer's 12 offsets were numbered in 7 px cells at 390 px, overlapping
    small = scenarios.save(builtin_scenario("idempotent-producer"))  # 12 offsets, 3 replicas
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_url}/r/{small}")
    page.wait_for_function(EVERY_FRAME)
    page.wait_for_function("() => document.querySelectorAll('#cluster .replica .cell').length")
    assert page.evaluate(REPLICA_LABELS) == []
    page.set_viewport_size({"width": 1366, "height": 900})  # turned wide: the numbers come
    page.wait_for_function(f"() => ({REPLICA_LABELS})().length >= 3 * 12")
    assert all(c["fits"] and c["width"] >= 14 for c in page.evaluate(REPLICA_LABELS))
    # 40 offsets: numbered at 1366 px (24 px a cell), not at 390 px
    wide = scenarios.save(builtin_scenario("slow-follower-leaves-isr"))
    page.goto(f"{live_url}/r/{wide}")
    page.wait_for_function(EVERY_FRAME)
    page.wait_for_function(f"() => ({REPLICA_LABELS})().length >= 40")
    labels = page.evaluate(REPLICA_LABELS)
    assert all(c["fits"] and c["width"] >= 14 for c in labels), labels
    page.set_viewport_size({"width": 390, "height": 900})
    # on a phone the cluster panel folds to its title (fold.js): opened, its cells refit
    page.locator("#cluster summary").click()
    page.wait_for_function(f"() => ({REPLICA_LABELS})().length === 0")


REPLICA_BOXES = CHART_BOXES.replace("getElementById('chart')", "getElementById('replica-chart')")


@pytest.mark.parametrize(("path", "width"), [("/embed/", 600), ("/r/", 390), ("/r/", 1366)])
def test_the_replica_timelines_legend_keeps_clear_of_the_axis_title(
    page: Page, live_url: str, path: str, width: int
) -> None:
    # the legend sat at y -0.18 of a 380 px figure: 3 rows at 600 px covered the axis title,
    # and the embed's CSS box (220 px) cut the figure; now it is laid out as the offsets
    # chart's (lib/charts.js legendFit), in a box as tall as the figure
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_url}{path}{scenarios.save(builtin_scenario('acks-1-leader-dies'))}")
    page.wait_for_function("() => document.getElementById('replica-chart').dataset.drawn")
    if path == "/r/" and width < 700:  # folded on a phone (fold.js): refitted when opened
        page.locator("#cluster summary").click()
        page.wait_for_function(
            f"() => {{ const b = ({REPLICA_BOXES})(); return b.rows === b.estimated; }}"
        )
    b = page.evaluate(REPLICA_BOXES)
    where = f"{path} at {width} px: {b}"
    assert all(tick[1] <= b["title"][0] + 0.5 for tick in b["ticks"]), where
    assert b["title"][1] <= b["legend"][0] + 0.5, where
    assert b["legend"][1] <= b["figure"][1] + 0.5, where
    assert b["rows"] == b["estimated"], where
    box = page.evaluate(
        "() => { const b = document.getElementById('replica-chart').getBoundingClientRect();"
        " return [b.top, b.bottom]; }"
    )
    assert box[0] - 0.5 <= b["figure"][0] and b["figure"][1] <= box[1] + 0.5, (box, where)


RADIOS = """() => [...document.querySelectorAll('.incident-form input[type=radio]')].map((r) => {
    const label = r.closest('label').getBoundingClientRect(), box = r.getBoundingClientRect();
    return { left: box.left - label.left, top: box.top - label.top }; })"""


@pytest.mark.parametrize("width", [1366, 390])
def test_each_incident_radio_starts_its_own_words(page: Page, live_url: str, width: int) -> None:
    # the fault's radios ran inline: at 390 px a radio ended a line and its words began the
    # next, beside another radio's words
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_url}/incident")
    radios = page.evaluate(RADIOS)
    assert len(radios) >= 3
    assert all(r["left"] <= 6 and r["top"] <= 8 for r in radios), radios  # its margin


NAME_LINES = """() => [...document.querySelectorAll('.strips .strip-name')].map((n) => {
    const r = document.createRange(); r.selectNodeContents(n);
    return [n.textContent, r.getClientRects().length, n.scrollWidth <= n.clientWidth]; })"""


@pytest.mark.parametrize("width", [1366, 390])
def test_a_partitions_name_stays_on_one_line(page: Page, live_url: str, width: int) -> None:
    # at 390 px "payments-0" broke after its hyphen in the strips' 4.5rem name column
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('txn-zombie-fencing'))}")
    page.wait_for_function(EVERY_FRAME)
    names = page.evaluate(NAME_LINES)
    assert [n[0] for n in names] == ["payments-0", "payments-1"]
    assert all(lines == 1 and fits for _, lines, fits in names), names
    # and the lane, now under its name at 390 px, leaves its edge labels ("start", "HW·LEO")
    # inside the strips' panel
    OUTSIDE = """() => { const box = document.querySelector('.player-log').getBoundingClientRect();
            return [...document.querySelectorAll('.strips .mk:not(.merged)')]
                .map((m) => [m.textContent, m.getBoundingClientRect()])
                .filter(([, r]) => r.left < box.left - 0.5 || r.right > box.right + 0.5)
                .map(([text]) => text); }"""
    assert page.evaluate(OUTSIDE) == []  # at the first step: start·HW·LEO on offset 0
    scrub_to_time(page, 8000)  # the last: C·P and HW·LEO at the end of the lane
    assert page.evaluate(OUTSIDE) == []
