"""The security chapter (built-ins 50..53) and the scenario's ``security:`` section.

Each test pins what the scenario's description promises: who connects as which principal,
which request is denied by which rule, what each client family's application sees, and
what reaches the log. Every run checks the invariants after each event.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

import simcore
from simcore.kernel.errors import ScenarioError
from simcore.report.result import Result
from simcore.run.access import client_access, credentials


@cache
def run(slug: str) -> Result:
    return simcore.simulate(simcore.builtin_scenario(slug), check_invariants=True)


def events(slug: str, kind: str, actor: str | None = None) -> list[dict[str, Any]]:
    result = run(slug)
    return [
        result.event_dict(i)
        for i, (_t, k, a, _f) in enumerate(result.events)
        if k == kind and (actor is None or a == actor)
    ]


def topic(slug: str, name: str) -> dict[str, Any]:
    ledger: dict[str, Any] = run(slug).summary()["ledger"]["topics"][name]
    return ledger


def test_a_consumer_without_read_on_its_group_fails_at_find_coordinator() -> None:
    slug = "consumer-lacks-group-read"
    security = run(slug).summary()["security"]
    consumer = security["billing-1"]
    assert consumer["principal"] == "User:billing" and consumer["connected"]
    asked = [(r["request"], r["resource"], r["allowed"], r["rule"]) for r in consumer["requests"]]
    assert asked == [
        ("Metadata", "TOPIC orders", True, "MatchingAcl"),  # READ implies DESCRIBE
        ("FindCoordinator", "GROUP billing", False, "DefaultDeny"),
    ]
    assert run(slug).errors == [
        "billing-1: GroupAuthorizationException: Not authorized to access group: billing"
    ]
    assert events(slug, "consumer_failed", "billing-1")
    assert not events(slug, "poll") and not events(slug, "join_group")
    assert topic(slug, "orders")["acked"] == 20  # the producer is allowed to WRITE
    assert security["shop"]["admitted"]
    described = [e["text"] for e in events(slug, "authorization", "billing-1")]
    assert "DENIED" in described[-1] and "allow.everyone.if.no.acl.found" in described[-1]


def test_a_prefixed_deny_beats_the_wildcard_allow_for_one_producer_only() -> None:
    slug = "producer-denied-by-prefixed-deny"
    security = run(slug).summary()["security"]
    assert security["orders-writer"]["admitted"]
    payments = security["payments-writer"]
    assert [(r["operation"], r["allowed"]) for r in payments["requests"]] == [
        ("DESCRIBE", True),  # a DENY of WRITE denies nothing else
        ("WRITE", False),
    ]
    assert "permissionType=DENY" in payments["requests"][-1]["why"]
    assert "patternType=PREFIXED" in payments["requests"][-1]["why"]
    assert topic(slug, "orders")["acked"] == 10
    payments_ledger = topic(slug, "payments-eu")
    assert (payments_ledger["failed"], payments_ledger["in_log"], payments_ledger["acked"]) == (
        10,
        0,
        0,
    )
    refused = events(slug, "send_refused", "payments-writer")
    assert sum(e["count"] for e in refused) == 10
    assert {e["error"] for e in refused} == {
        "TopicAuthorizationException: Not authorized to access topics: [payments-eu]"
    }


def test_a_wrong_scram_password_fails_java_at_once_and_librdkafka_after_its_timeout() -> None:
    slug = "scram-wrong-password"
    security = run(slug).summary()["security"]
    assert security["orders-app"]["admitted"] and security["reader"]["admitted"]
    for client in ("java-typo", "rdkafka-typo"):
        assert security[client]["stage"] == "SASL authentication"
        assert not security[client]["connected"] and not security[client]["requests"]
    java = events(slug, "send_refused", "java-typo")
    rdkafka = events(slug, "send_refused", "rdkafka-typo")
    assert java[0]["t"] == 0 and java[0]["error"].startswith("SaslAuthenticationException")
    # librdkafka: each message fails message.timeout.ms (10 s) after it was produced
    assert [e["t"] for e in rdkafka] == [10_000, 11_000, 12_000, 13_000, 14_000]
    assert {e["error"] for e in rdkafka} == {"Local: Message timed out"}
    ledger = topic(slug, "orders")
    assert (ledger["acked"], ledger["failed"], ledger["in_log"]) == (10, 10, 10)
    consumed = run(slug).summary()["ledger"]["groups"]["audit"]
    assert (consumed["processed_once"], consumed["unread"]) == (10, 0)


def test_a_plaintext_client_on_an_ssl_listener_sees_no_error_only_silence() -> None:
    slug = "plaintext-client-ssl-listener"
    security = run(slug).summary()["security"]
    assert security["shop"]["principal"] == "User:CN=shop" and security["shop"]["admitted"]
    consumer = security["billing-1"]
    assert consumer["stage"] == "TLS handshake (broker side)"
    assert "disconnected" in consumer["reported"]
    assert run(slug).errors == []  # no exception reaches the application
    assert not events(slug, "consumer_failed") and not events(slug, "join_group")
    group = run(slug).summary()["ledger"]["groups"]["billing"]
    assert (group["processing_total"], group["unread"]) == (0, 20)
    assert topic(slug, "orders")["acked"] == 20
    legacy = events(slug, "send_refused", "legacy-writer")
    # send() blocks max.block.ms (60 s) per record on the application's thread
    assert [(e["t"], e["count"]) for e in legacy] == [(60_000, 1)]
    assert legacy[0]["error"] == "TimeoutException: Topic not present in metadata after 60000 ms"


def test_without_a_security_section_nothing_is_checked() -> None:
    result = simcore.simulate(simcore.builtin_scenario("basic-lag"))
    assert "security" not in result.summary()
    assert not any(k in ("connection", "authorization") for _t, k, _a, _f in result.events)


BASE: dict[str, Any] = {
    "name": "s",
    "topics": [{"name": "t", "partitions": 1}],
    "producers": [{"id": "p", "topic": "t", "messages": 4, "rate_per_s": 10}],
}


def scenario(security: Any, config: dict[str, Any] | None = None) -> simcore.Scenario:
    data = dict(BASE, security=security)
    if config is not None:
        data["producers"] = [dict(BASE["producers"][0], config=config)]
    return simcore.parse_scenario(data)


@pytest.mark.parametrize(
    ("security", "field", "allowed"),
    [
        ({"listener": {"protocol": "TLS"}}, "security.listener.protocol", "SASL_SSL"),
        ({"listener": {"sasl.enabled.mechanisms": ["SCRAM"]}}, "mechanisms[0]", "SCRAM-SHA-512"),
        ({"listener": {"certificate": "old"}}, "security.listener.certificate", "expired"),
        (
            {
                "acls": "Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=t,"
                " patternType=LITERAL)`:\n  (principal=User:a)"
            },
            "security.acls line 2",
            "permissionType",
        ),
        ({"acls": [{"resource_type": "TOPIC"}]}, "security.acls[0]", None),
        ({"super.users": "admin"}, "security.super.users", None),
        ({"users": {"u": 5}}, "security.users.u", None),
        ({"listeners": {}}, "security", "listener"),
    ],
)
def test_a_bad_security_section_names_the_field(
    security: dict[str, Any], field: str, allowed: str | None
) -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario(security)
    text = str(caught.value)
    assert field in text
    if allowed is not None:
        assert allowed in (caught.value.allowed or "")


def test_security_properties_are_checked_like_any_property() -> None:
    with pytest.raises(ScenarioError) as caught:
        scenario({}, {"security.protocol": "TLS"})
    assert "producers[0].config.security.protocol" in str(caught.value)
    assert "SASL_SSL" in str(caught.value)
    parsed = scenario({}, {"security.protocol": "sasl_ssl", "sasl.mechanism": "plain"})
    assert parsed.producers[0].config["security.protocol"] == "SASL_SSL"
    assert parsed.producers[0].config["sasl.mechanism"] == "PLAIN"


def test_credentials_come_from_each_familys_own_properties() -> None:
    jaas = 'x.ScramLoginModule required username="ann" password="p w";'
    java = scenario({}, {"sasl.jaas.config": jaas}).producers[0]
    assert credentials(java) == ("ann", "p w")
    data = dict(
        BASE,
        producers=[
            dict(
                BASE["producers"][0],
                client="librdkafka",
                config={"sasl.username": "bob", "sasl.password": "pw"},
            )
        ],
    )
    assert credentials(simcore.parse_scenario(data).producers[0]) == ("bob", "pw")


def test_the_principal_follows_the_protocol_and_a_super_user_skips_the_acls() -> None:
    listener = {"protocol": "SASL_PLAINTEXT", "sasl.enabled.mechanisms": ["PLAIN"]}
    config = {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.jaas.config": 'x required username="admin" password="pw";',
    }
    sc = scenario(
        {
            "listener": listener,
            "users": {"admin": "pw"},
            "super.users": "User:admin",
            "acls": [
                {"resource_type": "TOPIC", "name": "t", "principal": "User:x", "operation": "READ"}
            ],
        },
        config,
    )
    assert sc.security is not None
    access = client_access(sc.security, sc.producers[0], 0)
    assert access.principal == "User:admin" and access.host == "10.0.1.10"
    assert [c.decision.rule for c in access.checks] == ["SuperUser", "SuperUser"]
    result = simcore.simulate(sc, check_invariants=True)
    assert result.summary()["ledger"]["topics"]["t"]["acked"] == 4


@pytest.mark.parametrize(
    "slug", [s for s, sc in simcore.builtin_scenarios() if sc.security is None]
)
def test_a_security_section_that_admits_everyone_changes_nothing_else(slug: str) -> None:
    """Checking connections and ACLs has no side effect: with a PLAINTEXT listener and an
    authorizer that allows every request, a built-in's run is its run without security,
    plus one connection event and the decisions per client."""
    plain = simcore.builtin_scenario(slug)
    data = simcore.scenario_to_data(plain)
    data["security"] = {"allow.everyone.if.no.acl.found": True, "authorizer": True}
    secured = simcore.simulate(simcore.parse_scenario(data))
    added = ("connection", "authorization")
    kept = [e for e in secured.events if e[1] not in added]
    assert kept == simcore.simulate(plain).events
    clients = len(plain.producers) + len(plain.consumers)
    assert sum(1 for e in secured.events if e[1] == "connection") == clients
    assert all(e[3]["allowed"] for e in secured.events if e[1] == "authorization")


@pytest.mark.parametrize("granted", [False, True])
def test_a_transactional_producer_needs_write_on_its_transactional_id(granted: bool) -> None:
    acls = [
        {"resource_type": "TOPIC", "name": "t", "principal": "User:ANONYMOUS", "operation": "WRITE"}
    ]
    if granted:
        acls.append(
            {
                "resource_type": "TRANSACTIONAL_ID",
                "name": "orders-",
                "pattern": "PREFIXED",
                "principal": "User:ANONYMOUS",
                "operation": "WRITE",
            }
        )
    data = dict(
        BASE,
        security={"acls": acls},
        producers=[dict(BASE["producers"][0], config={"transactional.id": "orders-1"})],
    )
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    asked = [
        (r["request"], r["resource"], r["allowed"])
        for r in result.summary()["security"]["p"]["requests"]
    ]
    topic = result.summary()["ledger"]["topics"]["t"]
    if granted:  # WRITE implies the DESCRIBE FindCoordinator asks
        assert asked == [
            ("FindCoordinator (transaction)", "TRANSACTIONAL_ID orders-1", True),
            ("InitProducerId", "TRANSACTIONAL_ID orders-1", True),
            ("Metadata", "TOPIC t", True),
            ("Produce", "TOPIC t", True),
        ]
        assert topic["failed"] == 0 and topic["acked"] > 0
    else:
        assert asked == [("FindCoordinator (transaction)", "TRANSACTIONAL_ID orders-1", False)]
        refused = [e[3]["error"] for e in result.events if e[1] == "send_refused"]
        assert set(refused) == {
            "TransactionalIdAuthorizationException: Transactional Id authorization failed."
        }
        assert (topic["failed"], topic["in_log"]) == (4, 0)
