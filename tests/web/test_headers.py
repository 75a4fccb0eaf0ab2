"""Every response carries the Content-Security-Policy; no page needs inline script."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from simcore import Scenario
from tests.web.helpers import saved, text

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def _paths(slug: str) -> list[str]:
    return [
        "/",
        f"/r/{slug}",
        f"/r/{slug}?compare={slug}",
        f"/compare/{slug}/{slug}",
        f"/embed/{slug}",
        f"/r/{slug}/story?m=p1%230",
        f"/api/scenarios/{slug}",
        f"/metrics/{slug}",
        "/r/0123456789abcdef",  # 404
        f"/r/{slug}?at=%C2%B2",  # 400
    ]


def test_every_response_has_a_policy_without_inline_script(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = saved(loss_scenario)
    for path in _paths(slug):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self';" in policy, path
        assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0], path
        assert "unsafe-eval" not in policy, path
        assert "object-src 'none'" in policy and "base-uri 'none'" in policy, path


def test_no_page_has_inline_script_or_event_handler_attributes(
    client: Client, loss_scenario: Scenario
) -> None:
    slug = saved(loss_scenario)
    for path in _paths(slug):
        body = text(client.get(path))
        assert not INLINE_SCRIPT.search(body), path
        assert not EVENT_HANDLER.search(body), path


def test_the_usual_hardening_headers_are_there(client: Client, loss_scenario: Scenario) -> None:
    response = client.get(f"/r/{saved(loss_scenario)}")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_templates_have_no_inline_script_either() -> None:
    """Pages the view tests do not render (error states) are covered by reading the files."""
    for template in (settings.BASE_DIR / "templates").rglob("*.html"):
        source = template.read_text()
        assert not INLINE_SCRIPT.search(source), template
        assert not EVENT_HANDLER.search(source), template
