from playwright.sync_api import Page, expect


def test_it_serves_the_gallery_with_local_assets(page: Page, live_url: str) -> None:
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(live_url + "/")
    expect(page.locator("h1")).to_have_text("Kafka semantics playground")
    page.wait_for_function("() => window.htmx !== undefined && window.Plotly !== undefined")
    assert failed == []
