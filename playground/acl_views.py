"""`/acls`: paste your ACLs (kafka-acls --list output or YAML) and ask who may do what.

Every answer comes from `simcore.security.authorizer`, which decides as Kafka's
StandardAuthorizer; the page names the rule that decided (the ACL, the super user, the
"ACLs exist but none matches" denial, or `allow.everyone.if.no.acl.found`). Besides one
request, it checks the requests a consumer and a producer make, with the resource and the
operation each needs (Kafka's documentation, "Operations and Resources on Protocols").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from simcore import ScenarioError
from simcore.scenario.acl_text import listing, parse_acls
from simcore.security.authorizer import (
    OPERATIONS,
    RESOURCE_TYPES,
    Acl,
    Authorizer,
    Decision,
    misreadings,
    parse_super_users,
)
from simcore.security.requests import CONSUMER_REQUESTS, DENIED_AS, PRODUCER_REQUESTS

EXAMPLE = listing(
    [
        Acl("TOPIC", "orders", "LITERAL", "User:billing", "*", "READ", "ALLOW"),
        Acl("TOPIC", "orders", "PREFIXED", "User:shop", "*", "WRITE", "ALLOW"),
        Acl("GROUP", "billing", "LITERAL", "User:reports", "*", "READ", "ALLOW"),
    ]
)


@dataclass(frozen=True)
class Ask:
    principal: str = "User:billing"
    host: str = "10.0.0.1"
    operation: str = "READ"
    resource_type: str = "TOPIC"
    name: str = "orders"
    group: str = "billing"
    topic: str = "orders"


def _field(form: Any, name: str, default: str, limit: int) -> str:
    value = str(form.get(name, default)).strip()
    if len(value) > limit:
        raise ScenarioError(name, f"must be at most {limit} characters, got {len(value)}")
    if "\x00" in value or any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ScenarioError(name, "must be plain text (no NUL, no lone surrogate)")
    return value


def _choice(form: Any, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = _field(form, name, default, 40)
    if value not in allowed:
        raise ScenarioError(
            name, f"must be one of {', '.join(allowed)}, got {value!r}", allowed=", ".join(allowed)
        )
    return value


def read_ask(form: Any) -> Ask:
    base = Ask()
    principal = _field(form, "principal", base.principal, 200)
    if ":" not in principal:
        raise ScenarioError(
            "principal",
            f"is Type:name, such as User:alice, got {principal!r}",
            allowed="User:<name>",
        )
    return Ask(
        principal=principal,
        host=_field(form, "host", base.host, 100) or base.host,
        operation=_choice(form, "operation", base.operation, OPERATIONS[1:]),
        resource_type=_choice(form, "resource_type", base.resource_type, RESOURCE_TYPES),
        name=_field(form, "name", base.name, 255) or base.name,
        group=_field(form, "group", base.group, 255),
        topic=_field(form, "topic", base.topic, 255),
    )


def _row(authorizer: Authorizer, ask: Ask, request: tuple[str, str, str, str]) -> dict[str, Any]:
    label, operation, kind, which = request
    name = ask.group if which == "group" else ask.topic
    decision = authorizer.authorize(ask.principal, ask.host, operation, kind, name)
    return {
        "request": label,
        "operation": operation,
        "resource": f"{kind} {name}",
        "decision": decision,
        "error": None if decision.allowed else DENIED_AS.get(kind, "authorization failed"),
    }


def evaluate(form: Any) -> dict[str, Any]:
    """What the page shows for a submitted form (ScenarioError on a bad field)."""
    text = str(form.get("acls", ""))
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text) or "\x00" in text:
        raise ScenarioError("acls", "must be plain text (no NUL, no lone surrogate)")
    acls = parse_acls(text)
    try:
        supers = parse_super_users(_field(form, "super_users", "", 2000))
    except ValueError as exc:
        raise ScenarioError("super_users", str(exc), allowed="User:<name>;User:<name>") from None
    allow_if_none = form.get("allow_everyone") in ("on", "true", "1")
    authorizer = Authorizer(acls, supers, allow_everyone_if_no_acl_found=allow_if_none)
    ask = read_ask(form)
    decision: Decision = authorizer.authorize(
        ask.principal, ask.host, ask.operation, ask.resource_type, ask.name
    )
    return {
        "acls": acls,
        "listing": listing(acls),
        "ask": ask,
        "decision": decision,
        "denied_as": None if decision.allowed else DENIED_AS.get(ask.resource_type),
        "notes": misreadings(authorizer, decision, ask.operation, ask.resource_type, ask.name),
        "consumer_rows": [_row(authorizer, ask, r) for r in CONSUMER_REQUESTS]
        if ask.group and ask.topic
        else [],
        "producer_rows": [_row(authorizer, ask, r) for r in PRODUCER_REQUESTS] if ask.topic else [],
    }


@require_http_methods(["GET", "HEAD", "POST"])
def acl_check(request: Any) -> Any:
    from playground.errors import scenario_error_payload

    form = request.POST if request.method == "POST" else {"acls": EXAMPLE}
    context: dict[str, Any] = {
        "form": form,
        "operations": OPERATIONS[1:],
        "resource_types": RESOURCE_TYPES,
        "defaults": Ask(),
    }
    try:
        context.update(evaluate(form))
    except ScenarioError as err:
        context["error"] = scenario_error_payload(err)
        return render(request, "playground/acls.html", context, status=422)
    return render(request, "playground/acls.html", context)
