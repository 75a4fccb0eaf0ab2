"""The security and follower-fetching chapters in a browser: what a learner reads at the end
of the run, and the way from a refused client to the ACL editor."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from playground import scenarios
from simcore import builtin_scenario


def test_a_refused_consumer_is_named_and_its_request_opens_in_the_acl_editor(
    page: Page, live_url: str
) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('consumer-lacks-group-read'))}")
    refused = page.locator(".verdict-box ul.refused li")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("billing-1 (User:billing): DESCRIBE on GROUP billing denied")
    row = page.locator('tr[data-client="billing-1"]')
    expect(row.locator("li.denied")).to_contain_text("FindCoordinator")
    row.get_by_role("button", name="ask /acls").click()
    expect(page).to_have_url(f"{live_url}/acls")
    expect(page.locator("body")).to_contain_text("allow.everyone.if.no.acl.found is false")
    expect(page.locator("textarea[name=acls]")).to_contain_text("principal=User:billing")


def test_follower_fetching_shows_where_each_group_reads_and_how_late(
    page: Page, live_url: str
) -> None:
    page.goto(f"{live_url}/r/{scenarios.save(builtin_scenario('follower-fetching-slow-follower'))}")
    billing = page.locator('tr[data-consumer="billing-1"]')
    expect(billing).to_contain_text("orders-0 → broker-1")
    expect(billing.locator('[data-count="cross"]')).to_have_text("0")
    expect(page.locator("figure.staleness svg polyline")).to_have_count(2)
    box = page.locator("figure.staleness svg").first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] >= 100
