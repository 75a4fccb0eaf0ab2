"""Processing failures (issue 15): the processing block's validation, the rules of each
error handling, and two properties over random scenarios and crash schedules:

- safety: an idempotent sink applies each input at most once, whatever crashes
  redeliver (a naive sink under the same schedule may not);
- liveness: with a dead-letter topic and bounded attempts, once the crashes are over
  and the run is long enough, every input ends processed or dead-lettered.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simcore
from simcore.kernel.errors import ScenarioError


def scenario(processing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    consumer = {
        "id": "c1",
        "group": "app",
        "topics": ["orders"],
        "processing_ms": 10,
        "config": {"auto.offset.reset": "earliest"},
        "processing": processing,
    }
    return {
        "name": "processing",
        "seed": 7,
        "duration_ms": 30_000,
        "topics": [{"name": "orders", "partitions": 2}],
        "producers": [
            {"id": "p1", "topic": "orders", "messages": 40, "rate_per_s": 20, "key": "k-{i}"}
        ],
        "consumers": [consumer],
        **extra,
    }


def summary(processing: dict[str, Any], **extra: Any) -> dict[str, Any]:
    result = simcore.simulate(
        simcore.parse_scenario(scenario(processing, **extra)), check_invariants=True
    )
    return result.summary()["processing"]["app"]


@pytest.mark.parametrize(
    ("processing", "field", "words"),
    [
        (
            {"on_failure": "dlq"},
            "consumers[0].processing.on_failure",
            "one of retry, skip, dead_letter, retry_topics",
        ),
        ({"failures": [{"fails": 2}]}, "consumers[0].processing.failures[0]", "by key"),
        (
            {"failures": [{"key": "k-1", "fails": 0}]},
            "consumers[0].processing.failures[0].fails",
            "'always' or an integer",
        ),
        ({"failure_rate": 1.5}, "consumers[0].processing.failure_rate", "from 0 to 1"),
        (
            {"on_failure": "dead_letter", "max_attempts": "unlimited"},
            "consumers[0].processing.max_attempts",
            "set a number of attempts",
        ),
        ({"on_failure": "retry_topics"}, "consumers[0].processing.retry_delays", "required"),
        (
            {"on_failure": "retry", "retry_delays": [1000]},
            "consumers[0].processing.retry_delays",
            "retry_topics",
        ),
        ({"sink": "exactly-once"}, "consumers[0].processing.sink", "naive, idempotent"),
        ({"attempts": 3}, "consumers[0].processing.attempts", "max_attempts"),
        (
            {"failures": [{"partition": 2, "offset": 1}]},
            "consumers[0].processing.failures[0].partition",
            "no such partition",
        ),
        (
            {"failures": [{"key": "k-1", "topic": "payments", "offset": 1}]},
            "consumers[0].processing.failures[0].topic",
            "does not read",
        ),
    ],
)
def test_a_bad_processing_block_names_the_field_and_what_is_allowed(
    processing: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        simcore.parse_scenario(scenario(processing))
    assert caught.value.field == field
    assert words in str(caught.value)


def test_a_dead_letter_topic_with_fewer_partitions_is_refused() -> None:
    data = scenario({"on_failure": "dead_letter", "max_attempts": 2})
    data["topics"].append({"name": "orders.DLT", "partitions": 1})
    with pytest.raises(ScenarioError, match="same partition number"):
        simcore.parse_scenario(data)


def test_the_members_of_a_group_run_the_same_processing() -> None:
    data = scenario({"on_failure": "skip"})
    other = dict(data["consumers"][0], id="c2", processing={"on_failure": "retry"})
    data["consumers"].append(other)
    with pytest.raises(ScenarioError) as caught:
        simcore.parse_scenario(data)
    assert caught.value.field == "consumers[1].processing"
    assert "same application" in str(caught.value)
    data["consumers"][1]["processing"] = {"on_failure": "skip"}
    assert len(simcore.parse_scenario(data).consumers) == 2


def test_skip_loses_the_input_for_the_sink_while_kafka_counts_it_processed() -> None:
    out = summary({"on_failure": "skip", "sink": "naive", "failures": [{"key": "k-5"}]})
    assert out["inputs"]["skipped"] == 1 and out["failed_attempts"] == 1
    assert out["sink"]["never_applied"] == 1 and out["sink"]["rows"] == 39


def test_retry_gives_up_after_max_attempts_and_logs_the_record() -> None:
    out = summary({"max_attempts": 4, "backoff_ms": 50, "failures": [{"key": "k-5"}]})
    assert (out["failed_attempts"], out["retries_in_place"], out["skipped"]) == (4, 3, 1)


def test_a_transient_failure_heals_on_the_attempt_after_its_last_failure() -> None:
    out = summary({"max_attempts": 5, "failures": [{"key": "k-5", "fails": 3}]})
    assert (out["failed_attempts"], out["inputs"]["succeeded"], out["skipped"]) == (3, 40, 0)


def test_an_offset_rule_names_one_record_of_one_partition() -> None:
    rule = {"topic": "orders", "partition": 1, "offset": 2}
    out = summary({"on_failure": "skip", "failures": [rule]})
    result = simcore.simulate(simcore.parse_scenario(scenario({"on_failure": "skip",
                                                               "failures": [rule]})))  # fmt: skip
    failed = [e for e in result.events if e[1] == "process_failed"]
    assert [(e[3]["part"], e[3]["offset"]) for e in failed] == [("orders-1", 2)]
    assert out["skipped"] == 1


def test_a_failure_rate_is_drawn_from_the_seed_once_per_input() -> None:
    block = {"on_failure": "skip", "failure_rate": 0.25, "sink": "naive"}

    def failing(seed: int) -> list[tuple[str, int]]:
        result = simcore.simulate(simcore.parse_scenario(scenario(block) | {"seed": seed}))
        return [(e[3]["part"], e[3]["offset"]) for e in result.events if e[1] == "process_failed"]

    first = failing(7)
    assert first == failing(7)  # the same seed, the same records fail
    assert 0 < len(first) < 40
    assert failing(8) != first  # another seed draws other records


crashes_st = st.lists(
    st.fixed_dictionaries(
        {"at_ms": st.integers(3_000, 12_000), "restart_after_ms": st.integers(100, 2_000)}
    ),
    min_size=1,
    max_size=3,
)


HANDLING = {
    "dead_letter": {"on_failure": "dead_letter", "max_attempts": 2},
    "retry_topics": {"on_failure": "retry_topics", "retry_delays": [500, 2000]},
}


def crash_scenario(
    sink: str, crashes: list[dict[str, int]], seed: int, handling: str = "dead_letter"
) -> dict[str, Any]:
    data = scenario(
        {"sink": sink, "failure_rate": 0.2, "rate_fails": 2, **HANDLING[handling]},
        faults=[{"action": "crash", "target": "c1", **c} for c in crashes],
    )
    data["seed"] = seed
    data["duration_ms"] = 60_000
    data["consumers"][0]["config"]["session.timeout.ms"] = 6_000
    return data


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    crashes=crashes_st,
    seed=st.integers(0, 1000),
    handling=st.sampled_from(sorted(HANDLING)),
)
def test_an_idempotent_sink_applies_each_input_at_most_once_under_any_crashes(
    crashes: list[dict[str, int]], seed: int, handling: str
) -> None:
    data = crash_scenario("idempotent", crashes, seed, handling)
    result = simcore.simulate(simcore.parse_scenario(data), check_invariants=True)
    sink = result.sim.processing.apps["app"].sink  # type: ignore[union-attr]
    assert sink is not None
    assert all(times == 1 for times in sink.applied.values())
    out = result.summary()["processing"]["app"]
    assert out["sink"]["rows"] == out["sink"]["writes"] - out["sink"]["dedup_hits"]
    # liveness: with a DLT and bounded attempts (in place, or one per retry topic), every
    # input ends processed or dead-lettered
    assert out["inputs"]["pending"] == 0 and out["inputs"]["skipped"] == 0
    assert out["inputs"]["succeeded"] + out["inputs"]["dead_lettered"] == out["inputs"]["total"]


def test_the_same_crash_makes_the_naive_sink_apply_an_input_twice() -> None:
    crashes = [{"at_ms": 4_000, "restart_after_ms": 500}]
    result = simcore.simulate(simcore.parse_scenario(crash_scenario("naive", crashes, 1)))
    out = result.summary()["processing"]["app"]["sink"]
    assert out["applied_twice_or_more"] > 0  # the property above is not vacuous


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("processing.nobody.succeeded", "names no group with a processing block"),
        ("processing.app.rows", "is not a processing counter"),
        ("processing.app.sink_rows", "is not a processing counter"),  # no sink here
        ("processing.app", "must be one of"),
    ],
)
def test_a_question_on_processing_names_a_group_and_a_counter_it_has(
    answer: str, words: str
) -> None:
    data = scenario({"on_failure": "skip"})
    data["questions"] = [{"id": "q", "ask": "How many?", "answer": answer}]
    with pytest.raises(ScenarioError) as caught:
        simcore.parse_scenario(data)
    assert caught.value.field == "questions[0].answer"
    assert words in str(caught.value)


def test_a_question_on_processing_is_answered_by_the_run() -> None:
    data = scenario({"on_failure": "skip", "sink": "naive", "failures": [{"key": "k-5"}]})
    data["questions"] = [
        {"id": "lost", "ask": "How many inputs are skipped?", "answer": "processing.app.skipped"},
        {"id": "rows", "ask": "How many rows?", "answer": "processing.app.sink_rows"},
    ]
    answers = simcore.simulate(simcore.parse_scenario(data)).summary()["questions"]
    assert [(a["id"], a["answer"]) for a in answers] == [("lost", 1), ("rows", 39)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crashes=crashes_st, seed=st.integers(0, 1000))
def test_the_sink_changes_what_the_database_holds_never_what_kafka_delivers(
    crashes: list[dict[str, int]], seed: int
) -> None:
    """The same run with either sink: Kafka's ledger is the same, every write of the naive
    sink is a row, and the idempotent sink's extra writes are exactly its dedups."""
    runs = {
        sink: simcore.simulate(simcore.parse_scenario(crash_scenario(sink, crashes, seed)))
        for sink in ("naive", "idempotent")
    }
    naive, idem = (runs[s].summary() for s in ("naive", "idempotent"))
    assert naive["ledger"] == idem["ledger"]
    n, i = naive["processing"]["app"]["sink"], idem["processing"]["app"]["sink"]
    assert n["writes"] == i["writes"] == n["rows"]
    assert i["rows"] + i["dedup_hits"] == i["writes"]
    assert i["applied_twice_or_more"] == 0
    assert n["rows"] - i["rows"] == i["dedup_hits"]  # the naive sink's extra rows
    assert n["never_applied"] == i["never_applied"]  # the same inputs reach both
