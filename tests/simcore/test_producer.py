"""The producer's pace (rate and bursts), batching and partitioning of null keys."""

import simcore
from tests.simcore.helpers import scenario


def send_times(data):
    result = simcore.simulate(simcore.parse_scenario(data))
    producer = result.sim.producers[0]
    return [producer.due(i) for i in range(producer.sent)], result


def test_it_follows_rate_changes_and_pauses():
    data = scenario(
        consumers=[],
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 1000,
                "rate_per_s": 10,
                "start_ms": 0,
                "rate_changes": [
                    {"at_ms": 1000, "rate_per_s": 100},
                    {"at_ms": 2000, "rate_per_s": 0},
                ],
            }
        ],
    )
    times, result = send_times(data)
    assert sum(1 for t in times if t < 1000) == 10
    assert sum(1 for t in times if 1000 <= t < 2000) == 100
    assert len(times) == 110  # paused for good after 2 s
    assert result.ledger["topics"]["orders"]["sent"] == 110


def test_it_batches_by_linger_and_batch_size():
    data = scenario(
        consumers=[],
        producers=[
            {
                "id": "p1",
                "topic": "orders",
                "messages": 2000,
                "rate_per_s": 100000,
                "config": {"linger.ms": 5, "batch.size": 16384},
            }
        ],
    )
    result = simcore.simulate(simcore.parse_scenario(data))
    sizes = [b.size for b in result.sim.cluster.partitions[("orders", 0)].log.batches]
    assert max(sizes) <= 16384 and len(sizes) < 2000 / 10  # far fewer batches than records


def test_it_sticks_null_keys_to_one_partition_per_batch_with_java():
    topics = [{"name": "orders", "partitions": 3, "replication_factor": 1}]
    data = scenario(
        topics=topics,
        consumers=[],
        producers=[{"id": "p1", "topic": "orders", "messages": 3000, "rate_per_s": 20000}],
    )
    result = simcore.simulate(simcore.parse_scenario(data))
    counts = [sum(b.count for b in p.log.batches) for p in result.sim.cluster.partition_list]
    assert sum(counts) == 3000 and min(counts) > 0  # sticky, yet spread over time
