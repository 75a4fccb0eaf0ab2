"""Questions to predict before the reveal, authored in a scenario's YAML, answered by the run.

A workshop asks the room what will happen ("how many orders will be lost?", "which
consumer gets orders-2?", "will the producer see an error?"). The author writes the
question and *where the answer is*, never the answer itself: the simulation computes it,
so a question can never go stale when the model or the scenario changes.

    questions:
      - id: lost
        ask: "How many orders will never be processed?"
        answer: ledger.groups.billing.processed_never     # a number from the ledger
      - id: owner
        ask: "Which consumer owns orders-2 at 20 s?"
        answer: owner billing orders-2 at 20000           # a consumer id (or "nobody")
        choices: [c1, c2, c3, nobody]
      - id: rows
        ask: "How many rows will the sink hold?"
        answer: processing.billing.sink_rows               # a processing counter (issue 15)
      - id: error
        ask: "Will the producer see an error?"
        answer: error p1                                   # "yes" or "no"
        at_ms: 5000                                        # asked at this point of the run

A number is answered with a number; `owner` and `error` with one of ``choices`` (default
for `error`: yes, no). The run's answer must be among the choices — checked when the
answers are computed, so a built-in whose answer left its choices fails its test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from simcore.kernel.errors import ScenarioError
from simcore.scenario.checks import (
    as_list,
    as_mapping,
    check_keys,
    get_id,
    get_name,
    get_optional_int,
    join,
)
from simcore.scenario.kafka_config import describe
from simcore.scenario.spec import ConsumerSpec, QuestionSpec, TopicSpec

# The counters of the ledger's summary, per topic and per group (in the order pages show them)
TOPIC_COUNTERS = (
    "sent",
    "acked",
    "failed",
    "in_log",
    "lost_acked",
    "log_duplicates",
    "out_of_order",
    "expired",
)
GROUP_COUNTERS = (
    "processed_once",
    "processed_never",
    "skipped",  # never processed, below the committed offset: lost for this group
    "unread",  # never processed, at or above it: still to read (lag)
    "processed_multiple",
    "expired_unread",
    "processing_total",
)


# A processing application's counters (report/processing.py): each input's end, and the
# sink's view (the sink_ ones need a sink)
PROCESSING_COUNTERS = (
    "succeeded",
    "dead_lettered",
    "skipped",
    "pending",
    "failed_attempts",
    "retries_in_place",
)
SINK_COUNTERS = (
    "sink_rows",
    "sink_applied_twice_or_more",
    "sink_never_applied",
    "sink_dedup_hits",
    "sink_key_order_violations",
)

MAX_QUESTIONS = 20
QUESTION_KEYS = ("id", "ask", "answer", "choices", "at_ms")
ANSWER_FORMS = (
    "ledger.groups.<group>.<counter>, ledger.topics.<topic>.<counter>,"
    " processing.<group>.<counter>, owner <group> <topic>-<partition> [at <ms>],"
    " error <client id>"
)
OWNER_ANSWER = re.compile(r"owner (\S+) (\S+)-(\d+)(?: at (\d+))?")
ERROR_ANSWER = re.compile(r"error (\S+)")


def parse_questions(
    raw: Any,
    topics: Mapping[str, TopicSpec],
    consumers: Sequence[ConsumerSpec],
    client_ids: Sequence[str],
    duration_ms: int,
) -> tuple[QuestionSpec, ...]:
    if raw is None:
        return ()
    out: list[QuestionSpec] = []
    for index, entry in enumerate(as_list(raw, "questions", MAX_QUESTIONS, "questions")):
        path = join("questions", index)
        data = as_mapping(entry, path, "id, ask, answer, choices, at_ms")
        check_keys(data, path, QUESTION_KEYS, "question")
        question_id = get_id(data, "id", path)
        if any(q.id == question_id for q in out):
            raise ScenarioError(
                join(path, "id"), f"another question is already called {question_id!r}"
            )
        ask = get_name(data, "ask", path, 500)
        answer = get_name(data, "answer", path, 200).strip()
        kind = _check_answer(
            answer, join(path, "answer"), topics, consumers, client_ids, duration_ms
        )
        choices = _choices(data, path, kind)
        at_ms = get_optional_int(data, "at_ms", path, 0, duration_ms)
        out.append(QuestionSpec(question_id, ask, answer, kind, choices, at_ms))
    return tuple(out)


def _check_answer(
    answer: str,
    path: str,
    topics: Mapping[str, TopicSpec],
    consumers: Sequence[ConsumerSpec],
    client_ids: Sequence[str],
    duration_ms: int,
) -> str:
    """The kind of answer ("number" or "choice"), once the expression names things that
    exist in this scenario."""
    groups = sorted({c.group for c in consumers})
    if answer.startswith("ledger."):
        parts = answer.split(".")
        if len(parts) != 4 or parts[1] not in ("groups", "topics"):
            raise ScenarioError(path, f"must be one of {ANSWER_FORMS}, got {answer!r}")
        names, counters = (
            (groups, GROUP_COUNTERS)
            if parts[1] == "groups"
            else (
                sorted(topics),
                TOPIC_COUNTERS,
            )
        )
        if parts[2] not in names:
            what = "group" if parts[1] == "groups" else "topic"
            raise ScenarioError(
                path, f"names no {what} of this scenario: {parts[2]!r}", allowed=", ".join(names)
            )
        if parts[3] not in counters:
            raise ScenarioError(
                path, f"{parts[3]!r} is not a ledger counter", allowed=", ".join(counters)
            )
        return "number"
    if answer.startswith("processing."):
        _check_processing_answer(answer, path, consumers)
        return "number"
    owner = OWNER_ANSWER.fullmatch(answer)
    if owner is not None:
        group, topic, partition, at = owner.groups()
        if group not in groups:
            raise ScenarioError(
                path, f"names no group of this scenario: {group!r}", allowed=", ".join(groups)
            )
        if topic not in topics or int(partition) >= topics[topic].partitions:
            raise ScenarioError(path, f"names no partition of this scenario: {topic}-{partition}")
        if at is not None and int(at) > duration_ms:
            raise ScenarioError(path, f"asks at {at} ms, after the run's end ({duration_ms} ms)")
        return "choice"
    error = ERROR_ANSWER.fullmatch(answer)
    if error is not None:
        if error.group(1) not in client_ids:
            raise ScenarioError(
                path,
                f"names no client of this scenario: {error.group(1)!r}",
                allowed=", ".join(client_ids),
            )
        return "choice"
    raise ScenarioError(path, f"must be one of {ANSWER_FORMS}, got {answer!r}")


def _check_processing_answer(answer: str, path: str, consumers: Sequence[ConsumerSpec]) -> None:
    """``processing.<group>.<counter>``: a group whose consumers have a processing block
    (its main listener's group), and a counter it has — the sink's only with a sink."""
    parts = answer.split(".")
    apps = {
        c.group: c.processing
        for c in consumers
        if c.processing is not None and not c.retry_listener
    }
    if len(parts) != 3:
        raise ScenarioError(path, f"must be one of {ANSWER_FORMS}, got {answer!r}")
    spec = apps.get(parts[1])
    if spec is None:
        allowed = ", ".join(sorted(apps)) or "none: no consumer has a processing block"
        message = f"names no group with a processing block: {parts[1]!r}"
        raise ScenarioError(path, message, allowed=allowed)
    counters = PROCESSING_COUNTERS + (SINK_COUNTERS if spec.sink != "none" else ())
    if parts[2] not in counters:
        message = f"{parts[2]!r} is not a processing counter of {parts[1]!r}"
        raise ScenarioError(path, message, allowed=", ".join(counters))


def _choices(data: Mapping[str, Any], path: str, kind: str) -> tuple[str, ...]:
    raw = data.get("choices")
    if kind == "number":
        if raw is not None:
            raise ScenarioError(join(path, "choices"), "a number question takes no choices")
        return ()
    if raw is None:
        if str(data["answer"]).startswith("error "):
            return ("yes", "no")
        raise ScenarioError(join(path, "choices"), "this question needs its choices (2 to 8)")
    items = as_list(raw, join(path, "choices"), 8, "choices")
    if len(items) < 2 or not all(isinstance(c, str) and c.strip() for c in items):
        raise ScenarioError(join(path, "choices"), f"must be 2 to 8 texts, got {describe(raw)}")
    if len(set(items)) != len(items):
        raise ScenarioError(join(path, "choices"), "must not repeat a choice")
    return tuple(items)
