"""The built-in one-fetch-per-broker (37): what its "What to watch" promises, checked on the run.

One Java consumer reads three partitions led by one broker: ONE FetchRequest carries them
all ([J] AbstractFetch.prepareFetchRequests), in a KIP-227 fetch session (full at epoch 0,
then incremental: [J] FetchSessionHandler), and the responses are capped per KIP-74
(max.partition.fetch.bytes, fetch.max.bytes; the response's first batch whole) with the
partition that returned records moved to the end of the fetch order ([J]
SubscriptionState.movePartitionToEnd). The requests and responses are observed on the
broker side; the rest is read from the run's events and its ledger. The run checks the
invariants after every event.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

import simcore
from simcore.broker.fetch_requests import ConsumerFetch, ConsumerFetches, PartitionAnswer
from simcore.run.simulation import Simulation
from simcore.scenario.courses import courses
from tests.simcore.helpers import requested

# the requests are watched by patching ConsumerFetches: `make test` runs this on the sources
pytestmark = pytest.mark.engine_internals

SLUG = "one-fetch-per-broker"
HOT, QUIET = ("clicks", 0), [("clicks", 1), ("clicks", 2)]
ALL = [HOT, *QUIET]


def name(tp: tuple[str, int]) -> str:
    return f"{tp[0]}-{tp[1]}"


@dataclass
class Observed:
    result: simcore.Result
    # (time sent, request): a request's offsets, listed and forgotten are set before it
    # goes and never modified after
    sent: list[tuple[int, ConsumerFetch]] = field(default_factory=list)
    answered: list[tuple[int, ConsumerFetch, list[PartitionAnswer]]] = field(default_factory=list)


@cache
def observed() -> Observed:
    """The built-in's run, with every consumer FetchRequest and response seen at the broker."""
    sent: list[tuple[int, ConsumerFetch]] = []
    answered: list[tuple[int, ConsumerFetch, list[PartitionAnswer]]] = []
    send, respond = ConsumerFetches.send, ConsumerFetches._respond

    def spy_send(self: ConsumerFetches, request: ConsumerFetch) -> None:
        sent.append((self.engine.now, request))
        send(self, request)

    def spy_respond(self: ConsumerFetches, request: ConsumerFetch,
                    answers: list[PartitionAnswer], *args: Any, **kwargs: Any) -> None:  # fmt: skip
        answered.append((self.engine.now, request, answers))
        respond(self, request, answers, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ConsumerFetches, "send", spy_send)
        patch.setattr(ConsumerFetches, "_respond", spy_respond)
        sim = Simulation(simcore.builtin_scenario(SLUG), check_invariants=True)
        sim.run()
    return Observed(simcore.Result(sim), sent, answered)


def events(kind: str) -> list[tuple[int, dict[str, Any]]]:
    return [(t, f) for t, k, _actor, f in observed().result.events if k == kind]


def caps() -> tuple[int, int]:
    (consumer,) = simcore.builtin_scenario(SLUG).consumers
    return consumer.max_partition_fetch_bytes, consumer.fetch_max_bytes


def polls() -> list[tuple[int, dict[str, list[int]]]]:
    """(time, {partition: offsets handed out}) for every poll() that returned records."""
    out = []
    for t, f in events("poll"):
        handed: dict[str, list[int]] = {}
        for part, first, last in f["records"]:
            handed.setdefault(part, []).extend(range(first, last + 1))
        out.append((t, handed))
    return out


def hot_slices() -> list[tuple[int, list[int]]]:
    """(time, offsets) of every poll() that handed out records of the hot partition."""
    return [(t, handed[name(HOT)]) for t, handed in polls() if name(HOT) in handed]


# --- the scenario as a file -------------------------------------------------------------------


def test_it_parses_validates_and_sits_in_the_groups_and_lag_chapter() -> None:
    scenario = simcore.builtin_scenario(SLUG)
    again = simcore.parse_scenario(simcore.scenario_to_data(scenario))
    assert simcore.scenario_digest(again) == simcore.scenario_digest(scenario)
    (chapter,) = [c for c in courses()["kafka-semantics"].chapters if SLUG in c.scenarios]
    assert chapter.title.startswith("Groups, rebalancing and lag")
    (consumer,) = scenario.consumers
    assert consumer.client == "java" and sorted(consumer.topics) == ["clicks"]
    assert caps() == (1024, 1024)  # both far below the defaults (1 MiB, 50 MiB)
    assert scenario.brokers == 1 and [t.partitions for t in scenario.topics] == [3]


def test_the_burst_batches_are_larger_than_both_caps() -> None:
    sim = observed().result.sim
    batches = sim.cluster.partitions[HOT].log.batches_from(0, 600)
    assert sum(b.count for b in batches) == 600
    assert [b.count for b in batches] == [51] * 11 + [39]
    assert min(b.size for b in batches) > max(caps())
    assert (min(b.size for b in batches), max(b.size for b in batches)) == (1075, 1387)
    appended = [t for t, f in events("append") if f["part"] == name(HOT)]
    assert max(appended) <= 650  # the whole backlog is written in the first 0.6 s


# --- one request per broker, in a fetch session ------------------------------------------------


def test_one_request_carries_every_partition_the_consumer_reads_there() -> None:
    sent = observed().sent
    ((assigned_at, assigned),) = events("assigned")
    assert sorted(assigned["partitions"]) == [name(tp) for tp in ALL]
    first_at, first = sent[0]
    assert first_at == assigned_at + 2 and first.node == 0  # the first poll after the join
    ((rebalance_at, _),) = events("rebalance_start")
    assert assigned_at - rebalance_at >= 3000  # group.initial.rebalance.delay.ms
    assert list(requested(first).items()) == [(tp, 0) for tp in ALL]
    assert (first.epoch, first.listed, first.forgotten) == (0, ALL, [])  # full, new session
    # never two requests out to the broker: each goes after the previous one's answer
    answered_at = {id(r): t for t, r, _a in observed().answered}
    for (_t, before), (at, _after) in itertools.pairwise(sent):
        assert answered_at[id(before)] <= at, "two requests out at once"
    # not one fetch per partition: a request carries every partition with nothing
    # buffered, all three at least once per slice of the backlog
    assert sum(1 for _t, r in sent if len(requested(r)) == 3) >= 12
    ((_t, shown), *_rest) = events("consumer_fetch_session")
    assert shown["epoch"] == 0 and shown["broker"] == 0
    assert shown["added"] == shown["partitions"] == [name(tp) for tp in ALL]


def test_every_request_after_the_first_is_an_incremental_one_in_the_same_session() -> None:
    sent = observed().sent
    session = sent[0][1].session_id
    assert session > 0
    assert [r.epoch for _t, r in sent] == list(range(len(sent)))
    assert all(r.session_id == session for _t, r in sent[1:])
    previous = requested(sent[0][1])
    for _t, request in sent[1:]:
        changed = [tp for tp, o in requested(request).items() if previous.get(tp) != o]
        assert request.listed == changed  # only what was added or moved
        assert request.forgotten == [tp for tp in previous if tp not in requested(request)]
        previous = requested(request)
    assert any(len(r.listed) < len(requested(r)) for _t, r in sent)  # kept without a listing
    # the log shows each change of the session's partitions, with the request's epoch
    shown = events("consumer_fetch_session")
    assert [f["session"] for _t, f in shown[1:]] == [session] * (len(shown) - 1)
    epochs = [f["epoch"] for _t, f in shown]
    assert epochs == sorted(set(epochs))
    assert all(f["added"] or f["removed"] for _t, f in shown)
    # while the backlog drains, the quiet partitions come back in front of clicks-0, then
    # are forgotten again
    drained_at = hot_slices()[-1][0]
    back = [f for t, f in shown if f["added"] == ["clicks-1", "clicks-2"] and t <= drained_at]
    assert back and all(f["partitions"] == ["clicks-1", "clicks-2", "clicks-0"] for f in back)
    assert any(f["removed"] == ["clicks-1", "clicks-2"] for _t, f in shown)


# --- KIP-74 caps and the fetch order -----------------------------------------------------------


def test_the_first_response_is_one_whole_batch_past_both_caps() -> None:
    (_t, first, answers), *_ = observed().answered
    assert first is observed().sent[0][1]
    with_data = [(tp, batches) for tp, _o, batches, _e, _p, _end in answers if batches]
    ((tp, (batch,)),) = with_data  # clicks-0's first batch, alone: the response is full
    assert tp == HOT and batch.size > max(caps())
    _t, handed = polls()[0]
    assert handed == {name(HOT): list(range(batch.count))}


def test_the_partition_that_returned_records_goes_to_the_back_of_the_line() -> None:
    sent, answered = observed().sent, observed().answered
    (at, second), (third_at, third) = sent[1], sent[2]
    assert list(requested(second)) == [*QUIET, HOT]  # clicks-0 moved to the end
    assert second.epoch == 1 and at == polls()[0][0]  # sent as the first poll returns
    answers = next(a for _t, r, a in answered if r is second)
    records = {tp: sum(b.count for b in batches) for tp, _o, batches, _e, _p, _end in answers}
    assert records[HOT] == 0  # 1.3 KB does not fit its 1 KiB cap unless it is first
    assert records[QUIET[0]] > 0 and records[QUIET[1]] > 0
    assert records[QUIET[0]] + records[QUIET[1]] == 13
    assert sum(b.size for _tp, _o, bs, _e, _p, _end in answers for b in bs) <= min(caps())
    # the next request, 2 ms later, is for clicks-0 alone: the quiet ones are buffered
    assert third_at - at == 2
    assert (list(requested(third)), third.forgotten) == ([HOT], QUIET)


def test_the_backlog_drains_in_capped_slices_of_one_batch() -> None:
    part_cap, response_cap = caps()
    hot_batches = []
    for _t, _r, answers in observed().answered:
        batches = [b for _tp, _o, bs, _e, _p, _end in answers for b in bs]
        size = sum(b.size for b in batches)
        assert size <= response_cap or len(batches) == 1  # fetch.max.bytes, or one whole batch
        for position, (tp, _o, bs, _e, _p, _end) in enumerate(answers):
            if tp == HOT and bs:
                # one batch per response, and only as the response's first data
                assert len(bs) == 1 and bs[0].size > part_cap
                assert not any(a[2] for a in answers[:position])
                hot_batches.append(bs[0])
    assert sum(b.count for b in hot_batches) == 600 and len(hot_batches) == 12
    slices = hot_slices()
    assert [len(offsets) for _t, offsets in slices] == [51] * 11 + [39]
    assert [offsets[0] for _t, offsets in slices] == list(range(0, 600, 51))
    # the chart's position line for clicks-0 climbs in one step per slice
    series = observed().result.series()
    position = series["groups"]["dashboard/" + name(HOT)]["position"]
    moves = [p for before, p in itertools.pairwise(position) if before is not None and p != before]
    assert moves == [offsets[-1] + 1 for _t, offsets in slices]


# --- no partition starves ---------------------------------------------------------------------


def test_the_quiet_partitions_are_served_all_through_the_backlog() -> None:
    slices = hot_slices()
    drain = [(t, handed) for t, handed in polls() if slices[1][0] <= t <= slices[-1][0]]
    assert len(drain) == 11  # from the second slice to the last, one poll per slice
    for _t, handed in drain:
        assert set(handed) == {name(tp) for tp in ALL}
    drain_time = slices[-1][0] - slices[0][0]
    assert drain_time > 5000  # the backlog takes about 6 s...
    # ...while a quiet partition's click written after the assignment waits under 1 s
    ((assigned_at, _),) = events("assigned")
    written = {
        (f["part"], f["base"]): t
        for t, f in events("append")
        if f["part"] != name(HOT) and t > assigned_at
    }
    handed_at = {(p, o): t for t, handed in polls() for p, offs in handed.items() for o in offs}
    waits = [handed_at[key] - t for key, t in written.items()]
    assert len(waits) == 2 * 23
    assert max(waits) < 1000 < drain_time // 5


# --- the ledger and liveness ------------------------------------------------------------------


def test_nothing_is_lost_and_everything_is_processed_once() -> None:
    summary = observed().result.summary()["ledger"]
    topic = summary["topics"]["clicks"]
    assert topic["sent"] == topic["acked"] == topic["in_log"] == 660
    assert topic["lost_acked"] == topic["log_duplicates"] == topic["failed"] == 0
    group = summary["groups"]["dashboard"]
    assert (group["processed_once"], group["processed_never"], group["processed_multiple"]) == (
        660,
        0,
        0,
    )
    assert group["processing_total"] == 660


def test_the_lag_is_back_to_zero_at_the_end() -> None:
    rows = observed().result.groups_table()
    assert {row["PARTITION"]: row["LAG"] for row in rows} == {0: 0, 1: 0, 2: 0}
    (_t, last_commit), *_ = reversed(events("commit_ok"))
    assert dict((p, o) for p, o in last_commit["offsets"]) == {
        "clicks-0": 600,
        "clicks-1": 30,
        "clicks-2": 30,
    }


def test_the_lag_chart_counts_from_the_auto_commits() -> None:
    series = observed().result.series()
    hot = series["groups"]["dashboard/" + name(HOT)]
    sent = [t for t, f in events("commit_async") if f["how"] == "auto-commit"]
    stored = [t for t, _f in events("commit_stored")]  # at the group coordinator
    assert sent[1] - sent[0] >= 5000  # auto.commit.interval.ms, at the next poll
    first_commit, second_commit = stored[0], stored[1]
    seen = [(t, lag) for t, lag in zip(series["t"], hot["lag"], strict=True) if lag is not None]
    assert seen[0][0] == first_commit  # no committed offset, no LAG, before the first
    assert {lag for t, lag in seen if t < second_commit} == {90}
    last_processed = max(t for t, f in events("processed") if f["part"] == name(HOT))
    assert first_commit < last_processed < second_commit  # done, yet LAG 90 until the next


def test_with_librdkafka_every_request_is_full_and_sessionless() -> None:
    # the description's last line: switch c1 to librdkafka to see its full requests
    data = simcore.scenario_to_data(simcore.builtin_scenario(SLUG))
    data["consumers"][0]["client"] = "librdkafka"
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    shown = [f for _t, k, _a, f in result.events if k == "consumer_fetch_session"]
    assert shown and all(f["epoch"] == -1 and f["session"] == 0 for f in shown)
    assert shown[0]["partitions"] == [name(tp) for tp in ALL]  # one request, three partitions
    assert result.summary()["ledger"]["groups"]["dashboard"]["processed_once"] == 660
