"""The consumer's FetchRequests per broker (issue 16): one request per broker for all the
partitions it fetches there ([J] AbstractFetch.prepareFetchRequests), KIP-227 fetch sessions
([J] FetchSessionHandler), the broker's DelayedFetch over the whole request and the KIP-74
caps ([J] core ReplicaManager.fetchMessages), and stale answers discarded per partition."""

from __future__ import annotations

from typing import Any

import pytest

import simcore
from simcore.broker.fetch_requests import ConsumerFetch, ConsumerFetches, PartitionAnswer
from simcore.consumer.fetcher import Fetcher
from simcore.run.simulation import Simulation
from tests.simcore.helpers import consumer, requested, run, scenario

pytestmark = pytest.mark.engine_internals

LATENCY = 2  # network_latency_ms in these scenarios


def wide(
    partitions: int = 6,
    brokers: int = 3,
    messages: int = 600,
    key: str | None = "k{i}",
    config: dict[str, Any] | None = None,
    start_ms: int = 0,
    client: str = "java",
) -> dict[str, Any]:
    producer: dict[str, Any] = {
        "id": "p1",
        "topic": "orders",
        "messages": messages,
        "rate_per_s": 400,
        "config": {"acks": "all"},
    }
    if key is not None:
        producer["key"] = key
    return scenario(
        duration_ms=6000,
        brokers=brokers,
        network_latency_ms=LATENCY,
        topics=[{"name": "orders", "partitions": partitions, "replication_factor": 1}],
        producers=[producer],
        consumers=[consumer(start_ms=start_ms, client=client, config=config or {})],
    )


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, ConsumerFetch]]:
    """Every consumer FetchRequest as it is sent: (time, request)."""
    seen: list[tuple[int, ConsumerFetch]] = []
    original = ConsumerFetches.send

    def spy(self: ConsumerFetches, request: ConsumerFetch) -> None:
        seen.append((self.engine.now, request))
        original(self, request)

    monkeypatch.setattr(ConsumerFetches, "send", spy)
    return seen


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ConsumerFetch, list[PartitionAnswer]]]:
    """Every response as the broker sends it."""
    seen: list[tuple[ConsumerFetch, list[PartitionAnswer]]] = []
    original = ConsumerFetches._respond

    def spy(self: ConsumerFetches, request: ConsumerFetch, answers: list[PartitionAnswer],
            *args: Any, **kwargs: Any) -> None:  # fmt: skip
        seen.append((request, answers))
        original(self, request, answers, *args, **kwargs)

    monkeypatch.setattr(ConsumerFetches, "_respond", spy)
    return seen


def leaders(result: simcore.Result) -> dict[tuple[str, int], int]:
    return {(p.topic, p.index): p.replica_order[0] for p in result.sim.cluster.partition_list}


def test_one_request_per_broker_covering_its_partitions(
    sent: list[tuple[int, ConsumerFetch]], responses: list[tuple[ConsumerFetch, Any]]
) -> None:
    result = run(wide())
    assert result.ledger["groups"]["g"]["processed_once"] == 600
    lead = leaders(result)
    assert sent, "no fetch request"
    for _at, request in sent:
        assert {lead[tp] for tp in requested(request)} == {request.node}, requested(request)
    # the first round asks each broker once, for both partitions it leads
    first = [r for at, r in sent if at == sent[0][0]]
    assert sorted(r.node for r in first) == [0, 1, 2]
    assert all(len(requested(r)) == 2 for r in first)
    # never two requests out to one broker: each is sent after the previous one's answer
    answered_at: dict[int, int] = {}
    order = {id(r): n for n, (_at, r) in enumerate(sent)}
    answers = {id(req) for req, _a in responses}
    out: dict[int, ConsumerFetch] = {}
    for _at, request in sent:
        previous = out.get(request.node)
        assert previous is None or id(previous) in answers, "two requests out to one broker"
        out[request.node] = request
        answered_at[request.node] = order[id(request)]
    # one request per broker per round, not one per partition: far fewer than partitions
    # times rounds (a keyed producer fills every partition at every wake-up)
    per_partition = sum(len(requested(r)) for _at, r in sent)
    assert len(sent) < 0.7 * per_partition, (len(sent), per_partition)


def test_session_epochs_increment_and_the_log_shows_the_session(
    sent: list[tuple[int, ConsumerFetch]],
) -> None:
    result = run(wide())
    by_node: dict[int, list[ConsumerFetch]] = {}
    for _at, request in sent:
        by_node.setdefault(request.node, []).append(request)
    for node, requests in by_node.items():
        assert requests[0].epoch == 0 and requests[0].session_id > 0  # full, new session
        session = requests[0].session_id
        assert [r.epoch for r in requests] == list(range(len(requests))), node
        assert all(r.session_id == session for r in requests[1:]), node
    shown = [e[3] for e in result.events if e[1] == "consumer_fetch_session"]
    assert shown and shown[0]["epoch"] == 0
    assert {s["broker"] for s in shown} == {0, 1, 2}
    assert all(s["added"] or s["removed"] for s in shown)


def test_incremental_requests_list_only_changed_partitions(
    sent: list[tuple[int, ConsumerFetch]],
) -> None:
    # one broker, two partitions, every record keyed to the same one: the other
    # partition's fetch offset never changes, so incremental requests never list it
    data = wide(partitions=2, brokers=1, key="same", start_ms=500,
                config={"max.poll.records": 20})  # fmt: skip
    result = run(data)
    assert result.ledger["groups"]["g"]["processed_once"] == 600
    previous: dict[tuple[str, int], int] = {}
    unchanged_left_out = forgotten = 0
    for n, (_at, request) in enumerate(sent):
        if n == 0:
            assert request.listed == list(requested(request))  # the full request
        else:
            changed = [tp for tp, o in requested(request).items() if previous.get(tp) != o]
            assert request.listed == changed
            assert request.forgotten == [tp for tp in previous if tp not in requested(request)]
            unchanged_left_out += len(requested(request)) - len(changed)
            forgotten += len(request.forgotten)
        previous = requested(request)
    assert unchanged_left_out > 0  # the idle partition, sent once, then only kept
    assert forgotten > 0  # the busy one leaves the session while its records are buffered


def test_librdkafka_sends_full_requests_without_a_session(
    sent: list[tuple[int, ConsumerFetch]],
) -> None:
    run(wide(client="librdkafka"))
    assert sent and all(r.epoch == -1 and r.session_id == 0 for _at, r in sent)
    assert all(r.listed == list(requested(r)) and not r.forgotten for _at, r in sent)


def test_an_idle_partition_does_not_hold_back_the_others_data() -> None:
    # both partitions of broker 0 in one request; only one gets records: each batch comes
    # back a round trip after its append, not after fetch.max.wait.ms (500 ms)
    result = run(wide(partitions=2, brokers=1, key="same", messages=40))
    appends = [(t, f["base"]) for t, kind, _a, f in result.events if kind == "append"]
    polled = {}
    for t, kind, _a, f in result.events:
        if kind == "poll":
            for _part, first, _last in f["records"]:
                polled[first] = t
    started = min(polled.values())
    late = [(t, base, polled[base] - t) for t, base in appends if t > started]
    assert late and all(delay <= 2 * LATENCY for _t, _b, delay in late), late


def test_fetch_order_rotates_so_no_partition_starves(
    sent: list[tuple[int, ConsumerFetch]],
) -> None:
    # a backlog on two partitions and a response cap that one partition's data fills:
    # the partition that returned records moves to the end, so the other is served next
    data = wide(partitions=2, brokers=1, messages=400, start_ms=1500,
                config={"fetch.max.bytes": 1, "max.poll.records": 10})  # fmt: skip
    result = run(data)
    assert result.ledger["groups"]["g"]["processed_once"] == 400
    firsts = [next(iter(requested(r))) for _at, r in sent if len(requested(r)) == 2]
    assert len(set(firsts[:4])) == 2, firsts[:4]


def test_kip74_caps_and_the_first_batch_rule(
    responses: list[tuple[ConsumerFetch, list[PartitionAnswer]]],
) -> None:
    # max.partition.fetch.bytes of 1 byte: only the first batch of the first partition
    # with data comes (whole, although larger); fetch.max.bytes caps the response
    data = wide(partitions=2, brokers=1, messages=400, start_ms=1500,
                config={"max.partition.fetch.bytes": 1})  # fmt: skip
    result = run(data)
    assert result.ledger["groups"]["g"]["processed_once"] == 400
    with_data = [[a for a in answers if a[2]] for _r, answers in responses]
    assert any(with_data)
    for parts in with_data:
        assert len(parts) <= 1 and all(len(a[2]) == 1 for a in parts)
    responses.clear()
    cap = 3000
    data = wide(partitions=2, brokers=1, messages=400, start_ms=1500,
                config={"fetch.max.bytes": cap})  # fmt: skip
    assert run(data).ledger["groups"]["g"]["processed_once"] == 400
    sizes = []
    for _r, answers in responses:
        batches = [b for a in answers for b in a[2]]
        if batches:
            sizes.append(sum(b.size for b in batches))
            assert sizes[-1] <= cap or len(batches) == 1
    assert max(sizes) > cap // 2  # the cap was reached, not merely respected


def test_a_stale_answer_after_seek_is_discarded_for_that_partition_only(
    monkeypatch: pytest.MonkeyPatch,
    responses: list[tuple[ConsumerFetch, list[PartitionAnswer]]],
) -> None:
    data = wide(partitions=2, brokers=1, messages=400, start_ms=1500)
    sim = Simulation(simcore.parse_scenario(data), check_invariants=True)
    moved: list[ConsumerFetch] = []
    original = Fetcher._send

    def spy(self: Fetcher, node: int, group: list[Any]) -> None:
        original(self, node, group)
        if not moved:  # the first request, both partitions at 0: seek orders-0 to 5
            moved.append(self.in_flight[node])
            self.consumer.seek(("orders", 0), 5, "test: seek")

    monkeypatch.setattr(Fetcher, "_send", spy)
    sim.run()
    result = simcore.Result(sim)
    assert result.ledger["groups"]["g"]["processed_once"] == 400 - 5
    (request,) = moved
    assert list(requested(request).items()) == [(("orders", 0), 0), (("orders", 1), 0)]
    (answers,) = [a for r, a in responses if r is request]
    assert all(batches for _tp, _o, batches, _e, _p, _end in answers)  # data for both
    polls = [f["records"] for _t, kind, _a, f in result.events if kind == "poll"]
    first: dict[str, int] = {}
    for records in polls:
        for part, start, _last in records:
            first.setdefault(part, start)
    # orders-1's records from that response are handed out; orders-0's are discarded,
    # and it is fetched again from its new position
    assert first == {"orders-0": 5, "orders-1": 0}
    assert any(part == "orders-1" for part, _s, _l in polls[0])


def test_every_answer_carries_the_hw_of_the_replica_that_read_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # RF 2, acks=all: the leader's LEO runs ahead of its HW while the follower catches up.
    # Each answered partition carries the reading replica's HW as it was at the read (what
    # the client's lag counts to, FetchCollector.updatePartitionState); -1 with an error.
    data = wide(partitions=4, brokers=2, messages=400)
    data["topics"][0]["replication_factor"] = 2
    seen: list[tuple[PartitionAnswer, int, int]] = []  # (answer, HW, LEO) at the read
    original = ConsumerFetches._respond

    def spy(self: ConsumerFetches, request: ConsumerFetch, answers: list[PartitionAnswer],
            *args: Any, **kwargs: Any) -> None:  # fmt: skip
        for answer in answers:
            replica = self.cluster.partitions[answer[0]].replicas[request.node]
            seen.append((answer, replica.hw, replica.leo))
        original(self, request, answers, *args, **kwargs)

    monkeypatch.setattr(ConsumerFetches, "_respond", spy)
    assert run(data).ledger["groups"]["g"]["processed_once"] == 400
    read = [(a, hw, leo) for a, hw, leo in seen if a[3] is None]
    assert len(read) > 100
    assert all(a[5] == hw for a, hw, _leo in read)
    assert any(hw < leo for _a, hw, leo in read)  # HW and LEO apart: the test can tell
    assert all(a[5] == -1 for a, _hw, _leo in seen if a[3] is not None)
