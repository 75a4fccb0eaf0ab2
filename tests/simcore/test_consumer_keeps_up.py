"""A consumer with no processing work keeps up with the log, in every commit mode and
both client families (issue: the next fetch went out for the position before the records
just handed out, its answer was dropped as stale, and nothing fetched again)."""

import pytest

from simcore.scenario.spec import COMMIT_STRATEGIES
from tests.simcore.helpers import consumer, run, scenario

RATE = 20_000
PRODUCE_MS = 2_000


# A commitSync per record costs a round trip, so it cannot follow 20,000 records/s; nor
# can librdkafka's "per batch", since rd_kafka_consumer_poll() hands out one message.
# Both are bounded, not stalled: see the last test.
KEEPING_UP = [
    (client, commit)
    for client in ("java", "librdkafka")
    for commit in COMMIT_STRATEGIES
    if commit != "sync-per-record" and (client, commit) != ("librdkafka", "sync-per-batch")
]


@pytest.mark.parametrize(("client", "commit"), KEEPING_UP)
def test_a_consumer_without_processing_work_trails_the_producer_by_milliseconds(client, commit):
    config = {} if commit == "auto" else {"enable.auto.commit": False}
    data = scenario(
        # the producer stops at 2 s; 300 ms later everything must have been processed
        duration_ms=PRODUCE_MS + 300,
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": RATE * PRODUCE_MS // 1000,
                "rate_per_s": RATE,
            }
        ],
        consumers=[consumer(client=client, commit=commit, processing_ms=0, config=config)],
    )
    result = run(data)
    counts = result.ledger["groups"]["g"]
    in_log = result.ledger["topics"]["orders"]["in_log"]
    assert in_log > 0.99 * RATE * PRODUCE_MS / 1000
    assert counts["processed_once"] == in_log, counts
    assert counts["unread"] == 0


@pytest.mark.parametrize(
    ("client", "commit"),
    [
        ("java", "sync-per-record"),
        ("librdkafka", "sync-per-record"),
        ("librdkafka", "sync-per-batch"),
    ],
)
def test_a_commit_per_record_is_bounded_by_its_round_trips_not_stalled(client, commit):
    # one commitSync per record costs a round trip (2 ms here): about 500 records a second
    data = scenario(
        duration_ms=4_000,
        producers=[{"id": "p1", "topic": "orders", "messages": 1000, "rate_per_s": 400}],
        consumers=[consumer(client=client, commit=commit, config={"enable.auto.commit": False})],
    )
    counts = run(data).ledger["groups"]["g"]
    assert counts["processed_once"] == 1000 and counts["unread"] == 0


def test_a_rebalance_does_not_multiply_fetches():
    # an eager rebalance lets every partition go and gets it back at the same offset:
    # the answer to the fetch sent before it (long-polling at the broker) must not take
    # the place of the fetch sent after it — that left two fetches in flight, for good
    def fetches(*consumers, faults=()):
        data = scenario(
            duration_ms=30_000,
            producers=[{"id": "p1", "topic": "orders", "messages": 25, "rate_per_s": 1}],
            consumers=list(consumers),
            faults=list(faults),
        )
        result = run(data)
        assert result.ledger["groups"]["g"]["unread"] == 0
        return result.sim.consumers[0].fetch_count

    alone = fetches(consumer(id="c1"))
    churned = fetches(
        consumer(id="c1"),
        consumer(id="c2", start_ms=5_000),
        faults=[{"action": "stop", "target": "c2", "at_ms": 9_000, "restart_after_ms": 3_000}],
    )
    assert churned < 1.2 * alone, (alone, churned)
