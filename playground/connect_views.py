"""`/connect`: can this client connect to this listener? The TLS/SASL outcome, the message
each client family shows, and what the client does next (`simcore.security.connections`),
with the whole listener × security.protocol table for the chosen client.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from simcore import ScenarioError
from simcore.security.connections import (
    CERTIFICATES,
    FAMILIES,
    MECHANISMS,
    PROTOCOLS,
    Client,
    Listener,
    connect,
)


def _one(form: Any, field: str, allowed: tuple[str, ...], default: str) -> str:
    value = str(form.get(field, default) or default)
    if value not in allowed:
        shown = value[:40]
        raise ScenarioError(
            field, f"must be one of {', '.join(allowed)}, got {shown!r}", allowed=", ".join(allowed)
        )
    return value


def read_form(form: Any) -> tuple[Listener, Client]:
    getlist = getattr(form, "getlist", None)
    enabled = getlist("mechanisms") if getlist else form.get("mechanisms", ["GSSAPI"])
    for value in enabled:
        if value not in MECHANISMS:
            raise ScenarioError(
                "mechanisms",
                f"must be among {', '.join(MECHANISMS)}, got {str(value)[:40]!r}",
                allowed=", ".join(MECHANISMS),
            )
    listener = Listener(
        protocol=_one(form, "listener", PROTOCOLS, "SASL_SSL"),
        mechanisms=tuple(m for m in MECHANISMS if m in enabled) or ("GSSAPI",),
        certificate=_one(form, "certificate", CERTIFICATES, "valid"),
    )
    client = Client(
        family=_one(form, "family", FAMILIES, "java"),
        protocol=_one(form, "protocol", PROTOCOLS, "SASL_SSL"),
        mechanism=_one(form, "mechanism", MECHANISMS, "SCRAM-SHA-512"),
        credentials_ok=_one(form, "credentials", ("right", "wrong"), "right") == "right",
    )
    return listener, client


def _table(listener: Listener, client: Client) -> list[dict[str, Any]]:
    rows = []
    for listener_protocol in PROTOCOLS:
        there = Listener(listener_protocol, listener.mechanisms, listener.certificate)
        cells = []
        for protocol in PROTOCOLS:
            tried = Client(client.family, protocol, client.mechanism, client.credentials_ok)
            outcome = connect(there, tried)
            cells.append({"protocol": protocol, "outcome": outcome})
        rows.append({"listener": listener_protocol, "cells": cells})
    return rows


@require_http_methods(["GET", "HEAD", "POST"])
def connect_check(request: Any) -> Any:
    from playground.errors import scenario_error_payload

    defaults = {
        "listener": "SASL_SSL",
        "mechanisms": ["SCRAM-SHA-512"],
        "family": "java",
        "protocol": "SASL_SSL",
        "mechanism": "PLAIN",
    }
    form = request.POST if request.method == "POST" else defaults
    context: dict[str, Any] = {
        "protocols": PROTOCOLS,
        "mechanisms": MECHANISMS,
        "certificates": CERTIFICATES,
        "families": FAMILIES,
    }
    try:
        listener, client = read_form(form)
    except ScenarioError as err:
        context.update(error=scenario_error_payload(err), listener=Listener(), client=Client())
        return render(request, "playground/connect.html", context, status=422)
    context.update(
        listener=listener,
        client=client,
        outcome=connect(listener, client),
        table=_table(listener, client),
    )
    return render(request, "playground/connect.html", context)
