"""/acls: paste ACLs, ask who may do what; every answer names its rule (issue 15)."""

from __future__ import annotations

import html

import pytest
from django.test import Client

from playground.acl_views import EXAMPLE
from tests.web.helpers import text

pytestmark = pytest.mark.django_db

BASE = {
    "acls": EXAMPLE,
    "principal": "User:billing",
    "host": "10.0.0.1",
    "operation": "READ",
    "resource_type": "TOPIC",
    "name": "orders",
    "group": "billing",
    "topic": "orders",
}


def ask(client: Client, **changes: str) -> tuple[int, str]:
    response = client.post("/acls", {**BASE, **changes})
    return response.status_code, html.unescape(text(response))


def test_the_page_opens_with_an_example_and_its_answer(client: Client) -> None:
    response = client.get("/acls")
    page = html.unescape(text(response))
    assert response.status_code == 200
    assert "ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)" in page
    assert 'href="/acls"' in text(client.get("/"))  # linked from the gallery


def test_a_consumer_without_read_on_its_group_is_told_which_request_fails(client: Client) -> None:
    status, page = ask(client)
    assert status == 200
    assert "User:billing may READ TOPIC orders" in page
    assert "permissionType=ALLOW) on ResourcePattern(resourceType=TOPIC, name=orders" in page
    # the group's only ACL names User:reports: JoinGroup is denied, not left to the default
    row = page[page.index("JoinGroup / SyncGroup / Heartbeat") :].split("</tr>")[0]
    assert "GROUP_AUTHORIZATION_FAILED (GroupAuthorizationException)" in row
    assert "ACLs exist for this resource but none allows" in row


def test_a_prefixed_deny_beats_a_literal_allow(client: Client) -> None:
    acls = "\n".join(
        [
            "- {resource_type: TOPIC, name: orders, principal: 'User:shop', operation: WRITE}",
            "- {resource_type: TOPIC, name: ord, pattern: PREFIXED, principal: 'User:*',"
            " operation: WRITE, permission: DENY}",
        ]
    )
    status, page = ask(client, acls=acls, principal="User:shop", operation="WRITE")
    assert status == 200
    assert "User:shop may not WRITE TOPIC orders" in page
    assert "name=ord, patternType=PREFIXED) denies it" in page
    assert "TOPIC_AUTHORIZATION_FAILED" in page


def test_the_default_and_super_users(client: Client) -> None:
    _, closed = ask(client, acls="", principal="User:ann")
    assert "allow.everyone.if.no.acl.found is false (the default)" in closed
    _, opened = ask(client, acls="", principal="User:ann", allow_everyone="on")
    assert "User:ann may READ TOPIC orders" in opened
    # the topic has an ACL (for User:billing): the setting does not open it, and the page
    # says so beside the answer
    _, still = ask(client, principal="User:ann", allow_everyone="on")
    assert "User:ann may not READ TOPIC orders" in still
    assert "applies the setting only to a resource without any ACL at all" in still
    _, admin = ask(client, super_users="User:ops; User:admin", principal="User:admin")
    assert "a super user (super.users) may do anything" in admin


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"operation": "SEND"}, "operation"),
        ({"resource_type": "QUEUE"}, "resource_type"),
        ({"principal": "alice"}, "principal"),
        ({"super_users": "admin"}, "super_users"),
        (
            {"acls": "- {resource_type: TOPIC, name: o, principal: 'User:a', operation: NOPE}"},
            "acls[0].operation",
        ),
        ({"acls": "x\x00y"}, "acls"),
        ({"name": "a" * 300}, "name"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: Client, changes: dict[str, str], field: str
) -> None:
    status, page = ask(client, **changes)
    assert status == 422
    assert f'data-field="{field}"' in page
