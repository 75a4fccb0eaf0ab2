"""The idempotent producer after the broker lost its sequence numbers: what each client
does with OUT_OF_ORDER_SEQUENCE_NUMBER and UNKNOWN_PRODUCER_ID.

Java (KIP-360; [J] producer/internals/TransactionManager.java ``canRetry``,
``bumpIdempotentEpochAndResetIdIfNeeded``): bumps the producer epoch, numbers the
partition's unacknowledged batches from 0 again and retries — the retry succeeds.
librdkafka ([R] INTRODUCTION.md "Idempotent Producer" / "Error handling",
src/rdkafka_request.c ``rd_kafka_handle_idempotent_Produce_error``): the same error on the
head-of-line request is a fatal error; a later request's error waits for every in-flight
request to drain, then bumps the epoch and retries.
"""

import pytest

import simcore
from tests.simcore.helpers import run, scenario


def unclean(client: str) -> dict:
    """Two replicas; the follower falls out of the ISR, the leader acknowledges alone, dies,
    and the follower — which has only the first five records — is elected uncleanly. The
    new leader knows the producer at sequence 4 while the producer continues at 25."""
    return scenario(
        brokers=2,
        duration_ms=20000,
        broker_config={"replica.lag.time.max.ms": 1000, "broker.session.timeout.ms": 3000},
        topics=[
            {
                "name": "orders",
                "partitions": 1,
                "replication_factor": 2,
                "config": {"unclean.leader.election.enable": True},
            }
        ],
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 60,
                "rate_per_s": 10,
                "client": client,
                "config": {"enable.idempotence": True, "acks": "all"},
            }
        ],
        consumers=[],
        faults=[
            {
                "action": "slow_follower",
                "target": "broker-1",
                "at_ms": 450,
                "delay_ms": 5000,
                "duration_ms": 6000,
            },
            {"action": "kill_broker", "target": "broker-0", "at_ms": 2500},
        ],
    )


def events(result, kind, actor=None):
    return [(e[0], e[3]) for e in result.events if e[1] == kind and actor in (None, e[2])]


def oooses(result):
    return [
        t
        for t, f in events(result, "produce_error")
        if f["error"] == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    ]


def test_java_bumps_the_epoch_after_an_unclean_election_and_the_retry_succeeds():
    result = run(unclean("java"))
    ((elected, _),) = events(result, "leader_elected")
    bumps = events(result, "epoch_bump", "p1")
    assert len(bumps) == 1
    at, fields = bumps[0]
    assert at > elected and fields["epoch"] == 1 and fields["parts"] == ["orders-0"]
    assert fields["why"] == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    assert oooses(result) and max(oooses(result)) <= at  # one round of errors, then none
    counts = result.ledger["topics"]["orders"]
    # every record is acknowledged; the 20 that only the dead leader had are lost (the
    # unclean election's price), the 35 retried after the bump are in the new leader's log
    assert (counts["sent"], counts["acked"], counts["failed"]) == (60, 60, 0)
    assert (counts["lost_acked"], counts["in_log"], counts["log_duplicates"]) == (20, 40, 0)
    assert counts["out_of_order"] == 0
    assert not events(result, "fatal_error")


def test_librdkafka_raises_a_fatal_error_on_a_head_of_line_out_of_order_sequence():
    result = run(unclean("librdkafka"))
    fatal = events(result, "fatal_error", "p1")
    assert len(fatal) == 1
    at, fields = fatal[0]
    assert fields["error"] == "OUT_OF_ORDER_SEQUENCE_NUMBER" and fields["part"] == "orders-0"
    assert not events(result, "epoch_bump")
    assert not [t for t, _f in events(result, "send", "p1") if t > at]  # the producer stops
    counts = result.ledger["topics"]["orders"]
    # what was produced is acknowledged or failed; records due later are refused
    assert counts["sent"] < 60 and counts["sent"] == counts["acked"] + counts["failed"]
    assert counts["failed"] > 0 and counts["acked"] == 25 and counts["lost_acked"] == 20
    failed = events(result, "produce_failed", "p1")
    assert all(t == at for t, _f in failed)
    assert any("OUT_OF_ORDER_SEQUENCE_NUMBER" in f["error"] for _t, f in failed)


def injected(client: str, *errors: tuple[int, str], messages: int = 1, **config) -> dict:
    return scenario(
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": messages,
                "rate_per_s": 1000,
                "client": client,
                "config": {"enable.idempotence": True, **config},
            }
        ],
        consumers=[],
        faults=[
            {"action": "produce_error", "target": "p1", "at_ms": at, "count": 1, "error": error}
            for at, error in errors
        ],
    )


@pytest.mark.parametrize("error", ["UNKNOWN_PRODUCER_ID", "OUT_OF_ORDER_SEQUENCE_NUMBER"])
def test_java_bumps_the_epoch_and_retries_from_sequence_zero(error):
    result = run(injected("java", (0, error)))
    bumps = events(result, "epoch_bump", "p1")
    assert [(f["epoch"], f["why"]) for _t, f in bumps] == [(1, error)]
    sends = events(result, "send", "p1")
    assert [f["attempt"] for _t, f in sends] == [1, 2]
    # the retry carries the new epoch and sequence 0: the broker accepts it
    batch = result.sim.cluster.partitions[("orders", 0)].log.batches[0]
    assert (batch.producer_epoch, batch.base_seq) == (1, 0)
    assert result.ledger["topics"]["orders"]["acked"] == 1


def test_librdkafka_bumps_the_epoch_on_unknown_producer_id_for_a_first_try():
    result = run(injected("librdkafka", (0, "UNKNOWN_PRODUCER_ID")))
    bumps = events(result, "epoch_bump", "p1")
    assert [(f["epoch"], f["why"]) for _t, f in bumps] == [(1, "unknown producer id")]
    assert not events(result, "fatal_error")
    batch = result.sim.cluster.partitions[("orders", 0)].log.batches[0]
    assert (batch.producer_epoch, batch.base_seq) == (1, 0)
    assert result.ledger["topics"]["orders"]["acked"] == 1


def test_librdkafka_fails_fatally_on_unknown_producer_id_for_a_retried_batch():
    result = run(injected("librdkafka", (0, "NOT_ENOUGH_REPLICAS"), (50, "UNKNOWN_PRODUCER_ID")))
    ((_at, fields),) = events(result, "fatal_error", "p1")
    assert fields["error"] == "UNKNOWN_PRODUCER_ID"
    assert result.ledger["topics"]["orders"]["failed"] == 1
    assert not events(result, "epoch_bump")


def test_librdkafka_fails_fatally_on_a_head_of_line_out_of_order_sequence():
    result = run(injected("librdkafka", (0, "OUT_OF_ORDER_SEQUENCE_NUMBER"), messages=3))
    ((_at, fields),) = events(result, "fatal_error", "p1")
    assert fields["error"] == "OUT_OF_ORDER_SEQUENCE_NUMBER"
    counts = result.ledger["topics"]["orders"]
    assert counts["acked"] == 0 and counts["failed"] == counts["sent"]


def pipelined(client: str) -> dict:
    """Scenario 17's faults: several requests in flight, the second one rejected."""
    data = injected(
        client,
        (30, "NOT_ENOUGH_REPLICAS"),
        messages=12,
        **{"max.in.flight.requests.per.connection": 5},
    )
    data["network_latency_ms"] = 20
    data["producers"][0]["rate_per_s"] = 100
    return data


def test_librdkafka_drains_then_bumps_the_epoch_after_skipped_sequence_numbers():
    result = run(pipelined("librdkafka"))
    bumps = events(result, "epoch_bump", "p1")
    assert [(f["epoch"], f["why"]) for _t, f in bumps] == [(1, "skipped sequence numbers")]
    ((bump_at, _),) = bumps
    # the bump waits until no request is in flight; nothing is sent meanwhile
    answers = [t for t, _f in events(result, "produce_error", "p1")]
    assert bump_at >= max(answers)
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["in_log"], counts["log_duplicates"]) == (12, 12, 0)
    assert counts["out_of_order"] == 0
    assert not events(result, "fatal_error")


def test_java_retries_a_batch_behind_a_gap_without_bumping():
    result = run(pipelined("java"))
    assert oooses(result)  # the batches behind the rejected one
    assert not events(result, "epoch_bump")
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["in_log"], counts["log_duplicates"]) == (12, 12, 0)


def test_an_unknown_producer_is_accepted_at_any_sequence():
    """Brokers since 2.5 (KIP-360) accept a producer they have no state for at any
    sequence ([J] storage ProducerAppendInfo.checkSequence): a new leader that never saw
    this producer takes the retry, no error."""
    data = unclean("java")
    # the follower is slow from the start: the new leader has no record of p1 at all
    data["faults"][0]["at_ms"] = 0
    result = run(data)
    assert not oooses(result) and not events(result, "epoch_bump")
    counts = result.ledger["topics"]["orders"]
    assert (counts["acked"], counts["failed"], counts["lost_acked"]) == (60, 0, 25)


def test_injected_sequence_errors_need_an_idempotent_producer():
    data = injected("java", (0, "UNKNOWN_PRODUCER_ID"), **{"enable.idempotence": False})
    with pytest.raises(simcore.ScenarioError) as err:
        simcore.parse_scenario(data)
    assert err.value.field == "faults[0].error"
    assert "idempotent" in err.value.message


def test_the_narrative_tells_the_bump_and_the_fatal_error():
    java = run(unclean("java"))
    texts = [java.event_dict(i)["text"] for i, e in enumerate(java.events) if e[1] == "epoch_bump"]
    assert texts and "epoch to 1" in texts[0] and "sequence 0" in texts[0]
    rdk = run(unclean("librdkafka"))
    texts = [rdk.event_dict(i)["text"] for i, e in enumerate(rdk.events) if e[1] == "fatal_error"]
    assert texts and "fatal error" in texts[0] and "new producer" in texts[0]


def expiring(client: str) -> dict:
    """Every request between 0.5 s and ~2 s is refused; the batches retried meanwhile run
    out of delivery.timeout.ms (1 s) and fail, leaving a gap in the sequence."""
    data = injected(
        client,
        *[(500, "NOT_ENOUGH_REPLICAS")] * 12,
        messages=40,
        **{"delivery.timeout.ms": 1000, "request.timeout.ms": 500},
    )
    data["duration_ms"] = 5000
    data["producers"][0]["rate_per_s"] = 10
    return data


@pytest.mark.parametrize(
    ("client", "why"),
    [("java", "OUT_OF_ORDER_SEQUENCE_NUMBER"), ("librdkafka", "skipped sequence numbers")],
)
def test_a_gap_left_by_expired_batches_ends_in_one_epoch_bump(client, why):
    """Java: the expired retries leave their sequences unresolved (Sender
    .getExpiredInflightBatches, markSequenceUnresolved); the next batch's
    OUT_OF_ORDER_SEQUENCE_NUMBER is the one right after them, so the epoch is bumped once.
    librdkafka: that error is not head-of-line (next_ack_seq is still the first expired
    batch's): drain, bump, retry."""
    result = run(expiring(client))
    assert [f["why"] for _t, f in events(result, "epoch_bump", "p1")] == [why]
    counts = result.ledger["topics"]["orders"]
    assert (counts["sent"], counts["acked"], counts["failed"]) == (40, 33, 7)
    assert (counts["log_duplicates"], counts["out_of_order"]) == (0, 0)
    assert not events(result, "fatal_error")
