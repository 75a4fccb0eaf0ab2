"""Transactions (KIP-98): markers, the LSO, isolation.level, the coordinator, fencing and
transaction.timeout.ms — each asserted on a small run with invariants checked."""

from __future__ import annotations

from typing import Any

import pytest

import simcore
from simcore.broker.log import ABORT, COMMIT, MARKER_MSGS, Batch, ReplicaLog
from simcore.broker.transactions import java_string_hash, partition_for
from tests.simcore.helpers import run, scenario


def txn_producer(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "p1",
        "topic": "orders",
        "messages": 100,
        "rate_per_s": 100,
        "config": {"transactional.id": "orders-app"},
        "transactions": {"commit_every_ms": 200},
    }
    config = fields.pop("config", {})
    out.update(fields)
    out["config"] = {**out["config"], **config}
    return out


def reader(cid: str, group: str, isolation: str | None, client: str = "java") -> dict[str, Any]:
    config: dict[str, Any] = {"auto.offset.reset": "earliest"}
    if isolation is not None:
        config["isolation.level"] = isolation
    return {"id": cid, "group": group, "topics": ["orders"], "client": client, "config": config}


def two_readers(**changes: Any) -> dict[str, Any]:
    data = scenario(
        brokers=3,
        duration_ms=8000,
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 3}],
        producers=[txn_producer(transactions={"commit_every_ms": 200, "abort": [2]})],
        consumers=[
            reader("committed", "g1", "read_committed"),
            reader("uncommitted", "g2", None),
        ],
    )
    data.update(changes)
    return data


def processed(result: simcore.Result, cid: str) -> list[int]:
    consumer = next(c for c in result.sim.consumers if c.id == cid)
    return list(consumer.processed)


def events(result: simcore.Result, kind: str, actor: str | None = None) -> list[dict[str, Any]]:
    return [e[3] for e in result.events if e[1] == kind and (actor is None or e[2] == actor)]


def calls(result: simcore.Result, producer: str) -> list[tuple[str, int]]:
    return [(f["call"], f["number"]) for f in events(result, "txn_call", producer)]


# -- the log ----------------------------------------------------------------------------


def data_batch(pid: int, count: int) -> Batch:
    return Batch(-1, range(count), 10 * count, 0, "p1", pid, 0, 0, 0, 0, True)


def marker(pid: int, kind: int) -> Batch:
    return Batch(-1, MARKER_MSGS, 0, 0, "p1", pid, -1, 0, -1, 0, True, kind)


def test_the_lso_stops_at_the_first_offset_of_an_open_transaction() -> None:
    log = ReplicaLog(0)
    log.append(Batch(-1, range(3), 30, 0, "p0"))  # offsets 0..2, not transactional
    log.append(data_batch(7, 2))  # offsets 3..4: transaction of producer 7 opens at 3
    log.append(data_batch(8, 2))  # 5..6: producer 8's opens at 5
    log.hw = log.leo
    assert log.lso == 3
    log.append(marker(7, COMMIT))  # offset 7
    assert log.lso == 3, "the marker is not below the HW yet: the transaction is unstable"
    log.hw = log.leo
    assert log.lso == 5, "producer 8's transaction is still open"
    log.append(marker(8, ABORT))  # offset 8
    log.hw = log.leo
    assert (log.lso, log.leo) == (9, 9)
    assert log.aborted == [(8, 5, 8)]
    assert log.aborted_between(0, 5) == []  # the fetch's range ends before it began
    assert log.aborted_between(5, 9) == [(8, 5, 8)]


def test_truncation_rebuilds_the_open_transactions() -> None:
    log = ReplicaLog(0)
    log.append(data_batch(7, 2))
    log.append(marker(7, ABORT))
    log.hw = log.leo
    assert (log.lso, log.aborted) == (3, [(7, 0, 2)])
    log.truncate_to(2)  # the marker is cut away: the transaction is open again
    assert (log.open_txns, log.aborted, log.lso) == ({7: 0}, [], 0)


def test_markers_take_offsets_but_are_no_messages() -> None:
    result = run(two_readers())
    log = result.sim.cluster.partitions[("orders", 0)].log
    markers = [b for b in log.batches if b.control]
    data = sum(b.count for b in log.batches if not b.control)
    assert [b.control for b in markers] == [COMMIT, ABORT, COMMIT, COMMIT, COMMIT]
    assert log.leo == data + len(markers)  # LOG-END-OFFSET counts the markers
    assert result.ledger["topics"]["orders"]["partitions"]["0"]["in_log"] == data
    offsets = [f["offset"] for f in events(result, "txn_marker")]
    assert offsets == [b.base for b in markers]


# -- isolation.level --------------------------------------------------------------------


def test_read_committed_skips_the_aborted_transaction_read_uncommitted_sees_it() -> None:
    result = run(two_readers())
    log = result.sim.cluster.partitions[("orders", 0)].log
    ((_pid, first, end),) = log.aborted
    aborted = {m for b in log.batches_from(first, end) if not b.control for m in b.msgs}
    assert 15 <= len(aborted) <= 21  # 200 ms at 100 records/s
    committed, uncommitted = processed(result, "committed"), processed(result, "uncommitted")
    assert not aborted & set(committed)
    assert aborted <= set(uncommitted)
    every = {m for b in log.batches if not b.control for m in b.msgs}
    assert sorted(uncommitted) == sorted(every)  # once each, aborted or not
    assert sorted(committed) == sorted(every - aborted)


def test_both_readers_end_past_the_last_marker() -> None:
    result = run(two_readers())
    leo = result.sim.cluster.partitions[("orders", 0)].log.leo
    for consumer in result.sim.consumers:
        assert consumer.positions[("orders", 0)] == leo, consumer.id


def test_librdkafka_reads_committed_by_default_java_does_not() -> None:
    data = two_readers(
        consumers=[reader("rdk", "g1", None, "librdkafka"), reader("java", "g2", None)]
    )
    result = run(data)
    by_id = {c.id: c for c in result.sim.consumers}
    assert by_id["rdk"].committed_only and not by_id["java"].committed_only
    assert len(processed(result, "rdk")) < len(processed(result, "java"))


# -- the producer and the coordinator ---------------------------------------------------


def test_the_application_loop_and_the_coordinator_states() -> None:
    result = run(two_readers())
    assert calls(result, "p1")[:4] == [
        ("initTransactions", 0),
        ("beginTransaction", 1),
        ("commitTransaction", 1),
        ("beginTransaction", 2),
    ]
    assert ("abortTransaction", 2) in calls(result, "p1")
    states = [f["state"] for f in events(result, "txn_state")]
    assert states[:5] == ["Empty", "Ongoing", "PrepareCommit", "CompleteCommit", "Ongoing"]
    assert "PrepareAbort" in states and "CompleteAbort" in states
    summary = result.sim.cluster.transactions.summary()["orders-app"]
    assert (summary["committed"], summary["aborted"], summary["epoch"]) == (4, 1, 0)
    assert summary["state"] == "CompleteCommit"


def test_a_transactional_producer_sends_nothing_before_init_transactions() -> None:
    result = run(two_readers())
    init = next(e[0] for e in result.events if e[1] == "txn_init")
    first_append = next(e[0] for e in result.events if e[1] == "append")
    assert first_append > init


def zombie() -> dict[str, Any]:
    """p_old hangs inside its 2nd transaction; p_new, the same transactional.id, starts
    meanwhile and fences it."""
    return scenario(
        brokers=3,
        duration_ms=10000,
        topics=[{"name": "orders", "partitions": 2, "replication_factor": 3}],
        producers=[
            txn_producer(
                id="old",
                messages=60,
                transactions={"commit_every_ms": 200, "stall": {"transaction": 2, "for_ms": 3000}},
            ),
            txn_producer(id="new", messages=60, start_ms=1000),
        ],
        consumers=[reader("committed", "g1", "read_committed")],
    )


def test_init_transactions_fences_the_older_instance() -> None:
    result = run(zombie())
    inits = {f["epoch"] for f in events(result, "txn_init", "new")}
    assert inits == {2}, "InitProducerId bumps once to abort old's transaction, once more"
    errors = events(result, "txn_error", "new")
    assert [e["error"] for e in errors][:1] == ["CONCURRENT_TRANSACTIONS"]
    old_errors = events(result, "txn_error", "old")
    assert [(e["request"], e["error"], e["fatal"]) for e in old_errors] == [
        ("EndTxn", "PRODUCER_FENCED", True)
    ]
    assert calls(result, "old")[-1] == ("fatal", 2)
    old = next(p for p in result.sim.producers if p.spec.id == "old")
    assert old.txn is not None and old.txn.state == "FATAL_ERROR"


def aborted_ids(result: simcore.Result) -> set[int]:
    out: set[int] = set()
    for part in result.sim.cluster.partitions.values():
        for pid, first, end in part.log.aborted:
            for b in part.log.batches_from(first, end):
                if b.producer_id == pid and not b.control:
                    out.update(b.msgs)
    return out


def test_the_zombie_transaction_is_aborted_and_never_read() -> None:
    result = run(zombie())
    new = next(p for p in result.sim.producers if p.spec.id == "new")
    seen = set(processed(result, "committed"))
    old_in_log = {
        m
        for part in result.sim.cluster.partitions.values()
        for b in part.log.batches
        if b.producer == "old" and not b.control
        for m in b.msgs
    }
    aborted = aborted_ids(result)
    assert aborted and aborted <= old_in_log, "old's 2nd transaction reached the log, aborted"
    assert not aborted & seen, "no read_committed reader sees it"
    assert old_in_log - aborted <= seen, "old's 1st transaction was committed and read"
    assert set(range(new.msg_base, new.msg_base + new.spec.messages)) <= seen


def stalled() -> dict[str, Any]:
    """p1's application hangs 15 s inside transaction 2 (transaction.timeout.ms 5000);
    p2, not transactional, keeps writing to the same partition."""
    return scenario(
        brokers=3,
        duration_ms=20000,
        topics=[{"name": "orders", "partitions": 1, "replication_factor": 3}],
        producers=[
            txn_producer(
                messages=100,
                config={"transaction.timeout.ms": 5000},
                transactions={
                    "commit_every_ms": 200,
                    "stall": {"transaction": 2, "for_ms": 15000},
                },
            ),
            {"id": "p2", "topic": "orders", "messages": 150, "rate_per_s": 10},
        ],
        consumers=[
            reader("committed", "g1", "read_committed"),
            reader("uncommitted", "g2", None),
        ],
    )


def test_the_coordinator_aborts_a_transaction_left_open_and_fences_its_producer() -> None:
    result = run(stalled())
    timed_out = [f for f in events(result, "txn_state") if "transaction.timeout.ms" in f["why"]]
    assert [(f["state"], f["epoch"]) for f in timed_out] == [("PrepareAbort", 1)]
    at = next(e[0] for e in result.events if e[1] == "txn_state" and e[3] in timed_out)
    assert at == 10000, "the timeout check runs every 10 s"
    errors = events(result, "txn_error", "p1")
    assert [(e["request"], e["error"]) for e in errors] == [("EndTxn", "PRODUCER_FENCED")]
    summary = result.sim.cluster.transactions.summary()["orders-app"]
    assert (summary["timed_out"], summary["aborted"], summary["committed"]) == (1, 1, 1)


def test_an_open_transaction_stalls_read_committed_readers_only() -> None:
    result = run(stalled())
    p2 = next(p for p in result.sim.producers if p.spec.id == "p2")
    p2_ids = set(range(p2.msg_base, p2.msg_base + p2.spec.messages))
    committed = next(c for c in result.sim.consumers if c.id == "committed")
    uncommitted = next(c for c in result.sim.consumers if c.id == "uncommitted")
    when: dict[str, dict[int, int]] = {"committed": {}, "uncommitted": {}}
    for t, kind, actor, fields in result.events:
        if kind == "processed" and actor in when:
            for k in range(fields["count"]):
                when[actor].setdefault(fields["first"] + k, t)
    # p2's records written while p1's transaction is open (from ~0.2 s to the 10 s abort)
    stuck = [o for o, t in when["uncommitted"].items() if 2000 <= t < 9000]
    assert len(stuck) > 50
    for offset in stuck:
        assert when["committed"][offset] >= 10000, offset  # LSO stuck until the abort
    assert p2_ids <= set(committed.processed)
    assert p2_ids <= set(uncommitted.processed)


def test_the_coordinator_moves_when_its_broker_dies() -> None:
    data = two_readers(duration_ms=30000)
    coordinator = partition_for("orders-app") % 3  # the state partition's first replica
    data["producers"][0]["messages"] = 2000
    data["faults"] = [{"action": "kill_broker", "target": f"broker-{coordinator}", "at_ms": 2000}]
    result = run(data)
    states = events(result, "txn_state")
    before = {e[2] for e in result.events if e[1] == "txn_state" and e[0] < 2000}
    after = {e[2] for e in result.events if e[1] == "txn_state" and e[0] > 12000}
    assert before == {f"broker-{coordinator}"}
    assert after and f"broker-{coordinator}" not in after
    assert states[-1]["state"] in ("CompleteCommit", "Ongoing")
    summary = result.sim.cluster.transactions.summary()["orders-app"]
    assert summary["committed"] >= 20


# -- configuration ----------------------------------------------------------------------


def test_java_refuses_a_transactional_id_without_idempotence() -> None:
    data = two_readers()
    data["producers"][0]["config"]["enable.idempotence"] = False
    with pytest.raises(simcore.ScenarioError, match="without also enabling idempotence"):
        simcore.parse_scenario(data)


def test_librdkafka_turns_idempotence_on_for_a_transactional_id() -> None:
    data = two_readers()
    data["producers"][0]["client"] = "librdkafka"
    spec = simcore.parse_scenario(data).producers[0]
    assert spec.enable_idempotence and spec.transactional_id == "orders-app"


def test_a_timeout_above_the_brokers_maximum_is_refused() -> None:
    data = two_readers()
    data["producers"][0]["config"]["transaction.timeout.ms"] = 900_001
    with pytest.raises(simcore.ScenarioError, match=r"transaction\.max\.timeout\.ms"):
        simcore.parse_scenario(data)


def test_a_transactions_block_needs_a_transactional_id() -> None:
    data = two_readers()
    del data["producers"][0]["config"]["transactional.id"]
    with pytest.raises(simcore.ScenarioError, match=r"producers\[0\]\.transactions"):
        simcore.parse_scenario(data)


def test_the_state_partition_is_javas_hash() -> None:
    assert java_string_hash("hello") == 99162322  # "hello".hashCode()
    assert java_string_hash("polygenelubricants") == -(2**31)  # Integer.MIN_VALUE
    assert partition_for("polygenelubricants") == 0  # Utils.abs(MIN_VALUE) is 0
    assert partition_for("orders-app") == 5
