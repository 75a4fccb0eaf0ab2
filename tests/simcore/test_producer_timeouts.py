"""Produce timeouts: the broker's ack timeout and each client's own request timeout.

The ProduceRequest carries a timeout the *broker* enforces on ``acks=all``: a write still
waiting for the ISR when it runs out is answered REQUEST_TIMED_OUT, and stays in the log
([J] core DelayedProduce; Java sends ``request.timeout.ms``, Sender.sendProduceRequest;
librdkafka sends its ``request.timeout.ms``, src/rdkafka_msgset_writer.c). The *client*
gives up on a request after ``request.timeout.ms`` in Java (NetworkClient), but after
``socket.timeout.ms`` (default 60 s) or the first message's remaining
``message.timeout.ms``, whichever is first, in librdkafka (src/rdkafka_request.c
``rd_kafka_ProduceRequest``; CONFIGURATION.md).
"""

import pytest

import simcore
from tests.simcore.helpers import run, scenario


def producer(client: str, messages: int = 1, **config) -> dict:
    return {
        "id": "p1",
        "topic": "orders",
        "messages": messages,
        "rate_per_s": 1000,
        "client": client,
        "config": {"acks": "all", "enable.idempotence": False, **config},
    }


def slow_follower(client: str, **config) -> dict:
    """acks=all while broker-1, still in the ISR, takes 2 s to receive each fetch answer
    (for the first 1.5 s; replica.lag.time.max.ms is 30 s, so it never leaves the ISR)."""
    return scenario(
        brokers=2,
        duration_ms=10000,
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 2}],
        producers=[producer(client, **config)],
        consumers=[],
        faults=[
            {
                "action": "slow_follower",
                "target": "broker-1",
                "at_ms": 0,
                "delay_ms": 2000,
                "duration_ms": 1500,
            }
        ],
    )


def delayed_response(client: str, **config) -> dict:
    """The first produce response takes 2 s longer on the way back (the write itself is
    quick: one replica)."""
    return scenario(
        producers=[producer(client, **config)],
        consumers=[],
        faults=[
            {
                "action": "delay_produce_response",
                "target": "p1",
                "at_ms": 0,
                "count": 1,
                "delay_ms": 2000,
            }
        ],
    )


def events(result, kind, actor=None):
    return [(e[0], e[3]) for e in result.events if e[1] == kind and actor in (None, e[2])]


def test_librdkafka_gets_request_timed_out_from_the_broker_and_retries():
    result = run(slow_follower("librdkafka", **{"request.timeout.ms": 500}))
    (sent, _), *_ = events(result, "send", "p1")
    timed_out = events(result, "produce_timed_out", "broker-0")
    assert timed_out, "the broker answers REQUEST_TIMED_OUT itself"
    at, fields = timed_out[0]
    assert at == sent + 1 + 500  # the request arrived one hop after the send
    assert (fields["part"], fields["producer"], fields["waited"]) == ("orders-0", "p1", 500)
    (err_at, err), *_ = events(result, "produce_error", "p1")
    assert (err_at, err["error"]) == (at + 1, "REQUEST_TIMED_OUT")  # the broker's answer
    counts = result.ledger["topics"]["orders"]
    # each attempt was appended before it timed out: without idempotence, copies
    assert counts["acked"] == 1 and counts["log_duplicates"] == len(timed_out) >= 1


def test_librdkafka_idempotent_retries_after_a_broker_timeout_are_deduplicated():
    result = run(
        slow_follower("librdkafka", **{"request.timeout.ms": 500, "enable.idempotence": True})
    )
    assert events(result, "produce_timed_out", "broker-0")
    assert events(result, "dedup")
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["in_log"], counts["log_duplicates"]) == (1, 1, 0)


def test_java_gives_up_on_its_own_request_timeout_first():
    result = run(slow_follower("java", **{"request.timeout.ms": 500}))
    (sent, _), *_ = events(result, "send", "p1")
    (err_at, err), *_ = events(result, "produce_error", "p1")
    assert (err_at, err["error"]) == (sent + 500, "REQUEST_TIMED_OUT")  # client side
    # the broker's own timeout runs out a hop later; its answer finds the connection closed
    (at, _), *_ = events(result, "produce_timed_out", "broker-0")
    assert at == sent + 501
    assert result.ledger["topics"]["orders"]["log_duplicates"] >= 1


def test_librdkafka_waits_socket_timeout_for_a_delayed_response_no_duplicate():
    result = run(delayed_response("librdkafka", **{"request.timeout.ms": 500}))
    assert not events(result, "produce_error", "p1")
    ((acked, _),) = events(result, "ack", "p1")
    ((sent, _),) = events(result, "send", "p1")
    assert acked == sent + 2 + 2000
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["in_log"], counts["log_duplicates"]) == (1, 1, 0)


def test_java_times_out_a_delayed_response_after_request_timeout_and_duplicates():
    result = run(delayed_response("java", **{"request.timeout.ms": 500}))
    (sent, _), *_ = events(result, "send", "p1")
    ((err_at, err),) = events(result, "produce_error", "p1")
    assert (err_at, err["error"]) == (sent + 500, "REQUEST_TIMED_OUT")
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["in_log"], counts["log_duplicates"]) == (1, 1, 1)


def test_librdkafka_socket_timeout_ms_bounds_a_produce_request():
    result = run(delayed_response("librdkafka", **{"socket.timeout.ms": 1000}))
    (sent, _), *_ = events(result, "send", "p1")
    ((err_at, err),) = events(result, "produce_error", "p1")
    assert (err_at, err["error"]) == (sent + 1000, "REQUEST_TIMED_OUT")
    assert result.ledger["topics"]["orders"]["log_duplicates"] == 1


def test_librdkafka_caps_the_request_timeout_at_the_remaining_message_timeout():
    data = delayed_response("librdkafka", **{"message.timeout.ms": 1500})
    data["faults"][0]["delay_ms"] = 5000
    result = run(data)
    ((failed_at, failed),) = events(result, "produce_failed", "p1")
    created = result.sim.producers[0].due(0)
    assert failed_at == created + 1500
    assert failed["error"].startswith("REQUEST_TIMED_OUT")


def test_socket_timeout_ms_is_a_librdkafka_producer_property():
    spec = simcore.parse_scenario(delayed_response("librdkafka")).producers[0]
    assert (spec.socket_timeout_ms, spec.request_timeout_ms) == (60_000, 30_000)
    spec = simcore.parse_scenario(
        delayed_response("librdkafka", **{"socket.timeout.ms": 5000})
    ).producers[0]
    assert spec.socket_timeout_ms == 5000
    with pytest.raises(simcore.ScenarioError) as err:
        simcore.parse_scenario(delayed_response("librdkafka", **{"socket.timeout.ms": 5}))
    assert err.value.field == "producers[0].config.socket.timeout.ms"
    with pytest.raises(simcore.ScenarioError) as err:
        simcore.parse_scenario(delayed_response("java", **{"socket.timeout.ms": 5000}))
    assert err.value.suggestion == "request.timeout.ms"


def test_an_earlier_broker_deadline_is_kept_although_a_later_one_was_pending():
    # the leader keeps one expiry check, aimed at the earliest deadline: p2's shorter
    # request timeout replaces the check p1's request had scheduled, and p1's own deadline
    # is kept afterwards
    data = slow_follower("librdkafka", **{"request.timeout.ms": 1000})
    second = producer("librdkafka", **{"request.timeout.ms": 300})
    data["producers"].append({**second, "id": "p2", "start_ms": 100})
    result = run(data)
    deadlines = {}
    for name, timeout in (("p1", 1000), ("p2", 300)):
        (sent, _), *_ = events(result, "send", name)
        deadlines[name] = sent + 1 + timeout
    assert deadlines["p2"] < deadlines["p1"]
    first = {}
    for at, fields in events(result, "produce_timed_out", "broker-0"):
        first.setdefault(fields["producer"], at)
    assert first == deadlines  # each answered REQUEST_TIMED_OUT at its own deadline
