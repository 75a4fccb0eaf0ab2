"""Whether each client gets in: its connection to the listener, then the ACL decision for
each request it sends, in the order it sends them — the scenario's ``security:`` section
applied to its producers and consumers.

The principal is what the broker derives ([J] ``DefaultKafkaPrincipalBuilder``):
``User:<name>`` for SASL (the SASL user name); for SSL without SASL the certificate's
distinguished name, here ``User:CN=<client id>`` (``ssl.principal.mapping.rules=DEFAULT``
keeps the whole DN); ``User:ANONYMOUS`` on a PLAINTEXT listener. Each client connects from
its own address (``kernel.types.client_host``): consumers from 10.0.0.10, .11, … — the
HOST of ``kafka-consumer-groups --describe`` — and producers from 10.0.1.10, .11, …, in
the scenario's order; ACL hosts can name them.

Simplifications (docs/security.md): a client's requests are checked once, when it starts;
the first denied request stops it there (its later requests are not sent), as a Java
client's first TopicAuthorizationException or GroupAuthorizationException does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from simcore.kernel.types import client_host
from simcore.scenario.spec import ConsumerSpec, ProducerSpec, SecuritySpec
from simcore.security.authorizer import Authorizer, Decision
from simcore.security.connections import Client, Outcome, connect
from simcore.security.requests import (
    CONSUMER_REQUESTS,
    PRODUCER_REQUESTS,
    TRANSACTIONAL_REQUESTS,
    denied_error,
)

_JAAS_FIELD = re.compile(r'\b(username|password)\s*=\s*"([^"]*)"')
_CREDENTIAL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class Check:
    """One request's authorization."""

    request: str
    operation: str
    resource_type: str
    name: str
    decision: Decision

    def error(self, family: str) -> str:
        """What the application of the client ``family`` sees if this request is denied."""
        return denied_error(self.resource_type, self.name, family)


@dataclass(frozen=True)
class Access:
    principal: str
    host: str
    mechanism: str
    connection: Outcome
    checks: tuple[Check, ...]  # in request order, up to the first denial

    @property
    def denied(self) -> Check | None:
        last = self.checks[-1] if self.checks else None
        return last if last is not None and not last.decision.allowed else None

    @property
    def allowed(self) -> bool:
        return self.connection.connected and self.denied is None


def credentials(spec: ProducerSpec | ConsumerSpec) -> tuple[str | None, str | None]:
    """(user name, password) from the client's configuration."""
    config = spec.config
    if spec.client == "java":
        jaas = config.get("sasl.jaas.config") or ""
        found = dict(_JAAS_FIELD.findall(jaas))
        return found.get("username"), found.get("password")
    return config.get("sasl.username"), config.get("sasl.password")


def client_access(security: SecuritySpec, spec: ProducerSpec | ConsumerSpec, index: int) -> Access:
    """The connection outcome and the ACL decisions for the client ``spec``, the
    ``index``-th (from 0) of its kind in the scenario."""
    consumer = isinstance(spec, ConsumerSpec)
    config = spec.config
    protocol = config["security.protocol"]
    mechanism = config.get("sasl.mechanism") or config.get("sasl.mechanisms") or "GSSAPI"
    user, password = credentials(spec)
    sasl = protocol.startswith("SASL_")
    known = dict(security.users)
    credentials_ok = mechanism not in _CREDENTIAL_MECHANISMS or (
        user is not None and user in known and known[user] == password
    )
    outcome = connect(security.listener, Client(spec.client, protocol, mechanism, credentials_ok))
    if sasl:
        principal = f"User:{user or 'ANONYMOUS'}"
    elif protocol == "SSL":
        principal = f"User:CN={spec.id}"
    else:
        principal = "User:ANONYMOUS"
    host = client_host("consumer" if consumer else "producer", index)
    checks: list[Check] = []
    if outcome.connected and security.authorizer:
        authorizer = Authorizer(
            security.acls, security.super_users, security.allow_everyone_if_no_acl_found
        )
        if isinstance(spec, ConsumerSpec):
            asked = [
                (request, op, kind, spec.group if which == "group" else topic)
                for topic in spec.topics
                for request, op, kind, which in CONSUMER_REQUESTS
            ]
        else:
            txn = spec.transactional_id
            asked = [
                (r, op, kind, txn) for r, op, kind, _which in TRANSACTIONAL_REQUESTS if txn
            ] + [(r, op, kind, spec.topic) for r, op, kind, _which in PRODUCER_REQUESTS]
        seen: set[tuple[str, str, str]] = set()
        for request, op, kind, name in asked:
            if (op, kind, name) in seen:
                continue
            seen.add((op, kind, name))
            decision = authorizer.authorize(principal, host, op, kind, name)
            checks.append(Check(request, op, kind, name, decision))
            if not decision.allowed:
                break
    return Access(principal, host, mechanism, outcome, tuple(checks))
