"""The YAML ``transactions`` block of a producer: its application's transaction loop.

A producer with ``config: {transactional.id: ...}`` runs transactions; ``transactions``
says how its application ends them (``simcore.scenario.spec.TransactionPlan``)::

    transactions:
      commit_every_ms: 100      # beginTransaction, send for 100 ms, commitTransaction
      abort: [2]                # ...but abortTransaction() for the 2nd transaction
      stall: {transaction: 3, for_ms: 70000}   # the app hangs inside the 3rd one
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simcore.kernel.errors import ScenarioError
from simcore.scenario.checks import as_list, as_mapping, check_keys, get_int, join
from simcore.scenario.kafka_config import describe
from simcore.scenario.spec import PipelineSpec, TopicSpec, TransactionPlan

PLAN_KEYS = ("commit_every_ms", "abort", "stall")
STALL_KEYS = ("transaction", "for_ms")
MAX_TRANSACTIONS = 1_000_000
MAX_ABORTS = 1000


def parse_transaction_plan(
    data: Mapping[str, Any], path: str, transactional_id: str | None, duration_ms: int
) -> TransactionPlan | None:
    """The plan, or None for a producer without a transactional.id (then ``transactions``
    must be absent)."""
    raw = data.get("transactions")
    where = join(path, "transactions")
    if transactional_id is None:
        if raw is not None:
            message = "needs a transactional producer: set config transactional.id"
            raise ScenarioError(where, message)
        return None
    if raw is None:
        return TransactionPlan()
    plan = as_mapping(raw, where, "a transactions block")
    check_keys(plan, where, PLAN_KEYS, "transactions")
    every = get_int(plan, "commit_every_ms", where, 1, max(1, duration_ms), default=100)
    aborts: list[int] = []
    for index, item in enumerate(
        as_list(plan.get("abort") or [], join(where, "abort"), MAX_ABORTS, "numbers")
    ):
        at = join(join(where, "abort"), index)
        number = isinstance(item, int) and not isinstance(item, bool)
        if not number or not 1 <= item <= MAX_TRANSACTIONS:
            message = f"must be a transaction number from 1 to {MAX_TRANSACTIONS}"
            message += f", got {describe(item)}"
            raise ScenarioError(at, message, allowed=f"1..{MAX_TRANSACTIONS}")
        aborts.append(item)
    stall, stall_ms = None, 0
    if plan.get("stall") is not None:
        stall_at = join(where, "stall")
        block = as_mapping(plan["stall"], stall_at, "a stall block")
        check_keys(block, stall_at, STALL_KEYS, "stall")
        stall = get_int(block, "transaction", stall_at, 1, MAX_TRANSACTIONS)
        stall_ms = get_int(block, "for_ms", stall_at, 1, max(1, duration_ms))
    return TransactionPlan(every, tuple(sorted(set(aborts))), stall, stall_ms)


PIPELINE_KEYS = ("output", "transactional_id", "commit_every_ms")


def parse_pipeline(
    data: Mapping[str, Any],
    path: str,
    topics: Mapping[str, TopicSpec],
    subscriptions: tuple[str, ...],
    values: Mapping[str, Any],
    duration_ms: int,
) -> PipelineSpec | None:
    """A consumer's ``pipeline`` block (consume-transform-produce), or None."""
    raw = data.get("pipeline")
    if raw is None:
        return None
    where = join(path, "pipeline")
    block = as_mapping(raw, where, "a pipeline block")
    check_keys(block, where, PIPELINE_KEYS, "pipeline")
    output = block.get("output")
    if not isinstance(output, str) or output not in topics:
        allowed = ", ".join(topics)
        message = (
            f"must name a topic defined in topics (defined: {allowed}), got {describe(output)}"
        )
        raise ScenarioError(join(where, "output"), message, allowed=allowed)
    if output in subscriptions:
        message = f"{output!r} is also an input: a pipeline writes to another topic"
        raise ScenarioError(join(where, "output"), message)
    txn_id = block.get("transactional_id")
    if txn_id is not None and (not isinstance(txn_id, str) or not txn_id.strip()):
        raise ScenarioError(join(where, "transactional_id"), "must be non-empty text or null")
    if values["enable.auto.commit"]:
        message = (
            "a pipeline commits its input offsets itself (in its transaction, or with"
            " commitSync after flushing): set enable.auto.commit: false"
        )
        raise ScenarioError(join(join(path, "config"), "enable.auto.commit"), message)
    if data.get("commit") is not None:
        message = "a pipeline commits every commit_every_ms itself: remove commit"
        raise ScenarioError(join(path, "commit"), message)
    every = get_int(block, "commit_every_ms", where, 1, max(1, duration_ms), default=100)
    return PipelineSpec(output, txn_id, every)
