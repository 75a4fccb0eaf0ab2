"""One plain sentence per timeline event, for the event log and message stories."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_ACKS = {0: "acks=0", 1: "acks=1", -1: "acks=all"}


def _records(count: int) -> str:
    return "1 record" if count == 1 else f"{count} records"


def offsets_text(offsets: list[list[Any]]) -> str:
    """Committed offsets ([partition, offset] each) as the event log writes them."""
    return ", ".join(f"{part}@{offset}" for part, offset in offsets)


def records_text(records: list[list[Any]]) -> str:
    """A poll's records ([partition, first, last] each) as the event log writes them."""
    return ", ".join(
        f"{part}@{first}" + (f"..{last}" if last > first else "") for part, first, last in records
    )


def _range(first: int, count: int) -> str:
    return str(first) if count == 1 else f"{first}..{first + count - 1}"


_AFTER_FAILURE: dict[str, Callable[[dict[str, Any]], str]] = {
    "retry": lambda f: f"retrying in place after {f['backoff_ms']} ms, without polling",
    "skip": lambda f: "logged and skipped: this input never reaches the sink",
    "dead_letter": lambda f: "giving up: it goes to the dead-letter topic",
    "retry_topic": lambda f: "it goes to the next retry topic; the listener moves on",
}

_TEXT: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "send": lambda a, f: (
        f"{a} sends messages #{_range(f['first'], f['count'])} to {f['part']}"
        + (f" (attempt {f['attempt']})" if f["attempt"] > 1 else "")
    ),
    "append": lambda a, f: (
        f"{a} (leader) appends {_records(f['count'])} from {f['producer']} "
        f"to {f['part']} at offsets {_range(f['base'], f['count'])}"
    ),
    "dedup": lambda a, f: (
        f"{a} recognises a retried batch from {f['producer']} (sequence "
        f"{f['seq']}) and does not write it again"
    ),
    "hw": lambda a, f: (
        f"high watermark of {f['part']} moves to {f['hw']}: offsets below it "
        "are committed and visible to consumers"
    ),
    "ack": lambda a, f: (
        f"{a}: {_ACKS[f['acks']]} — counts messages #{_range(f['first'], f['count'])} as sent "
        "without waiting for any broker"
        if f["acks"] == 0
        else f"{a} receives the ack ({_ACKS[f['acks']]}) for messages "
        f"#{_range(f['first'], f['count'])} at {f['part']} offset {f['base']}"
    ),
    "produce_error": lambda a, f: (
        f"{a}: {f['error']} for messages "
        f"#{_range(f['first'], f['count'])}; retrying in {f['retry_in']} ms"
    ),
    "produce_failed": lambda a, f: (
        f"{a} gives up on messages #{_range(f['first'], f['count'])}: {f['error']}"
    ),
    "epoch_bump": lambda a, f: (
        f"{a} bumps its producer epoch to {f['epoch']} ({f['why']}): "
        f"{', '.join(f['parts'])} numbers its unacknowledged batches from sequence 0 "
        "again, which the broker accepts from a new epoch"
    ),
    "fatal_error": lambda a, f: (
        f"{a}: fatal error {f['error']} for messages #{_range(f['first'], f['count'])} "
        f"at {f['part']} — librdkafka cannot retry without risking duplicates or "
        "reordering: the producer stops, its queued messages fail, and the application "
        "must create a new producer"
    ),
    "produce_timed_out": lambda a, f: (
        f"{a}: the acks=all write from {f['producer']} to {f['part']} waited "
        f"{f['waited']} ms (the request's timeout) for the ISR; it answers "
        "REQUEST_TIMED_OUT, and the records stay in the log"
    ),
    "start": lambda a, f: f"{a} ({f['client']} client) starts and joins group {f['group']}",
    "restart": lambda a, f: f"{a} restarts and rejoins group {f['group']}",
    "assigned": lambda a, f: f"{a} is assigned {', '.join(f['partitions']) or 'nothing'}",
    "position": lambda a, f: (
        f"{a} will read {f['part']} from offset {f['offset']} ({f['why']})"
        + (
            f"; this group skips what lies below offset {f['offset']} and never reads it"
            if f["why"].endswith("auto.offset.reset=latest") and f["offset"] > 0
            else ""
        )
    ),
    "poll": lambda a, f: f"poll() returns {records_text(f['records'])} to {a}",
    "processed": lambda a, f: (
        f"{a} finished processing {f['part']} offset {_range(f['first'], f['count'])}"
    ),
    "commit_sync": lambda a, f: f"{a} calls commitSync({offsets_text(f['offsets'])}) and blocks",
    "commit_async": lambda a, f: f"{a} sends {f['how']} of {offsets_text(f['offsets'])}",
    "commit_ok": lambda a, f: f"{a}: {f['how']} of {offsets_text(f['offsets'])} succeeded",
    "commit_retry": lambda a, f: f"{a}: commitSync got {f['error']}, retries in {f['retry_in']} ms",
    "commit_failed": lambda a, f: (
        f"{a}: {f['how']} of {offsets_text(f['offsets'])} failed ({f['error']})"
        + ("; the callback retries it with the same offsets" if f["retry"] else "; not retried")
    ),
    "commit_stored": lambda a, f: (
        f"coordinator stores {f['group']} offsets {offsets_text(f['offsets'])}"
    ),
    "commit_lost": lambda a, f: (
        f"fault: the commit of {offsets_text(f['offsets'])} by {f['member']} gets no answer"
    ),
    "commit_rejected": lambda a, f: (
        f"fault: the coordinator rejects the commit of "
        f"{offsets_text(f['offsets'])} by {f['member']} with {f['error']}"
    ),
    "crash": lambda a, f: (
        f"{a} crashes {f['where']}"
        + (f"; restarts in {f['restart_after_ms']} ms" if f["restart_after_ms"] is not None else "")
    ),
    "consumer_failed": lambda a, f: f"{a} stops with an error: {f['error']}",
    "broker_down": lambda a, f: (
        f"{a} dies"
        + (
            f"; it restarts in {f['restart_after_ms']} ms"
            if f["restart_after_ms"] is not None
            else ""
        )
    ),
    "broker_up": lambda a, f: f"{a} restarts with its log as it was on disk",
    "broker_isolated": lambda a, f: (
        f"{a} is cut off from the other brokers and the controller"
        + (f" for {f['duration_ms']} ms" if f["duration_ms"] is not None else "")
        + " (clients can still reach it)"
    ),
    "broker_reconnected": lambda a, f: f"{a} can reach the other brokers and the controller again",
    "broker_fenced": lambda a, f: (
        f"controller fences broker-{f['broker']}: no heartbeat within broker.session.timeout.ms"
    ),
    "broker_unfenced": lambda a, f: f"controller unfences broker-{f['broker']}",
    "leader_elected": lambda a, f: (
        f"controller elects broker-{f['leader']} leader of {f['part']} (epoch {f['epoch']})"
        + (
            ": UNCLEAN election of an out-of-sync replica — what it lacks is lost"
            if f["unclean"]
            else " from the ISR"
        )
    ),
    "partition_offline": lambda a, f: (
        f"{f['part']} has no eligible leader and goes offline "
        "(unclean.leader.election.enable=false waits for an ISR member)"
    ),
    "isr_shrink": lambda a, f: (
        f"{a} removes broker {', '.join(map(str, f['removed']))} from "
        f"the ISR of {f['part']} ({f['why']}); ISR is now {f['isr']}"
    ),
    "isr_expand": lambda a, f: (
        f"broker-{f['follower']} caught up and rejoins the ISR of "
        f"{f['part']}; ISR is now {f['isr']}"
    ),
    "fetch_session": lambda a, f: (
        f"{a} now fetches {', '.join(f['partitions']) or 'nothing'} from "
        f"broker-{f['leader']} in one request per round (its replica fetcher for that leader)"
    ),
    "consumer_fetch_session": lambda a, f: (
        f"{a} fetches {', '.join(f['partitions']) or 'nothing'} from broker-{f['broker']} in "
        + (
            "one full request (librdkafka has no fetch sessions)"
            if f["epoch"] < 0
            else "one request, a new fetch session (full, epoch 0)"
            if f["epoch"] == 0
            else f"fetch session {f['session']} epoch {f['epoch']}"
        )
        + (f"; adds {', '.join(f['added'])}" if f["added"] else "")
        + (f"; forgets {', '.join(f['removed'])}" if f["removed"] else "")
    ),
    "truncate": lambda a, f: (
        f"{a} truncates {f['part']} to offset {f['offset']} (leader epoch "
        f"check), dropping {_records(f['removed'])} that the current leader's log does not have "
        "there"
    ),
    "follower_slow": lambda a, f: (
        f"fault: {a}'s fetches now take {f['delay_ms']} ms longer"
        if f["delay_ms"]
        else f"{a} fetches at normal speed again"
    ),
    "produce_rejected": lambda a, f: (
        f"fault: {a} answers a produce request from "
        f"{f['producer']} with {f['error']}"
        + (" after writing it" if f["error"].endswith("AFTER_APPEND") else " without writing it")
    ),
    "join_group": lambda a, f: (
        f"{a} sends JoinGroup to the coordinator of {f['group']}"
        + (f" (still owning {', '.join(f['owned'])})" if f["owned"] else "")
    ),
    "join_heartbeat": lambda a, f: (
        f"{a} sends its first ConsumerGroupHeartbeat (member epoch 0) to the coordinator "
        f"of {f['group']} (group.protocol=consumer)"
    ),
    "leave_group": lambda a, f: (
        f"{a} leaves group {f['group']} with a heartbeat (member epoch {f['epoch']}): {f['reason']}"
    ),
    "group_epoch": lambda a, f: (
        f"group {f['group']} moves to group epoch {f['epoch']} ({f['cause']})"
    ),
    "target_assignment": lambda a, f: (
        f"the coordinator's uniform assignor computes the target for epoch {f['epoch']}: "
        f"{f['assignment']} — members reach it on their own heartbeats"
    ),
    "revocation_requested": lambda a, f: (
        f"coordinator asks {f['member']} to give up {', '.join(f['partitions'])}; "
        f"their new owner gets them once {f['member']} has let go"
    ),
    "partitions_lost": lambda a, f: (
        f"{a} is fenced ({f['error']}): it loses "
        f"{', '.join(f['partitions']) or 'nothing'} without committing, and rejoins"
    ),
    "rebalance_start": lambda a, f: f"group {f['group']} starts a rebalance: {f['cause']}",
    "generation": lambda a, f: (
        f"group {f['group']} enters generation {f['generation']} "
        f"({f['protocol']} assignor, leader {f['leader']}): members {', '.join(f['members'])}"
    ),
    "rebalance_end": lambda a, f: (
        f"group {f['group']} is stable again after {f['duration_ms']} ms — {f['assignment']}"
    ),
    "revoked": lambda a, f: f"{a} gives up {', '.join(f['partitions'])} ({f['why']})",
    "rebalance_noticed": lambda a, f: (
        f"{a}'s heartbeat gets {f['error']}: it will rejoin at its next poll()"
    ),
    "member_expired": lambda a, f: (
        f"coordinator removes {f['member']} from group {f['group']}: "
        + (
            f"no heartbeat for session.timeout.ms={f['session_timeout_ms']}"
            if "session_timeout_ms" in f
            else f.get("reason", "")
        )
    ),
    "member_left": lambda a, f: f"{f['member']} leaves group {f['group']} ({f['reason']})",
    "process_failed": lambda a, f: (
        f"{a}: processing {f['part']} offset {f['offset']} throws (attempt {f['attempt']}); "
        + _AFTER_FAILURE[f["then"]](f)
    ),
    "republished": lambda a, f: (
        f"{a} publishes {f['part']} offset {f['offset']} to "
        + ("the dead-letter topic " if f["dead_letter"] else "the retry topic ")
        + f"{f['to']} (offset {f['at']}) and goes on"
    ),
    "backoff_pause": lambda a, f: (
        f"{a}: {f['part']} offset {f['offset']} is a retry not due until {f['until']} ms: "
        "it seeks back to it, pauses the partition and polls on"
    ),
    "backoff_resume": lambda a, f: f"{a} resumes {f['part']}: its retry is due",
    "sink_write": lambda a, f: (
        f"{a} writes input {f['input']} to the sink again: "
        + (
            "a second row (the naive sink applies a redelivery)"
            if f["applied"]
            else "the upsert finds its row, nothing changes"
        )
    ),
    "poll_timeout": lambda a, f: (
        f"{a} did not call poll() for {f['since_last_poll']} ms "
        f"(max.poll.interval.ms={f['max_poll_interval_ms']}): its heartbeat thread leaves the group"
    ),
    "static_rejoin": lambda a, f: (
        f"static member {f['member']} is back within its session: "
        f"same assignment, no rebalance (generation {f['generation']})"
    ),
    "commit_exception": lambda a, f: (
        f"{a}: {f['how']} throws {f['exception']} ({f['error']}); "
        "the application carries on and rejoins"
    ),
    "commit_refused": lambda a, f: (
        f"coordinator refuses the commit of {offsets_text(f['offsets'])} by {f['member']}:"
        f" {f['error']}"
    ),
    "segments_deleted": lambda a, f: (
        f"{a} deletes old segments of {f['part']} "
        f"({_records(f['records'])}); the log now starts at {f['log_start']}"
    ),
    "offsets_expired": lambda a, f: (
        f"the committed offsets of empty group {f['group']} expire (offsets.retention.minutes)"
    ),
    "closing": lambda a, f: f"{a} closes",
    "closed": lambda a, f: (
        f"{a} is closed"
        + (
            f"; it starts again in {f['restart_after_ms']} ms"
            if f["restart_after_ms"] is not None
            else ""
        )
    ),
    "rate_change": lambda a, f: (
        f"{a} now produces {f['rate_per_s']} records/s" + (" (injected)" if f["injected"] else "")
    ),
    "processing_change": lambda a, f: (
        f"{a} now takes {f['processing_ms']} ms per record"
        + (" (injected)" if f["injected"] else "")
    ),
    "response_fault": lambda a, f: f"fault: a produce response to {a} is {f['what']}",
    "connection": lambda a, f: (
        f"{a} connects to the {f['listener']} listener as {f['principal']}"
        if f["connected"]
        else f"{a} cannot connect to the {f['listener']} listener ({f['stage']}): "
        f"{f['because']}; it sees: {f['reported']}"
    ),
    "authorization": lambda a, f: (
        f"{f['request']} from {a} ({f['principal']}): {f['operation']} on {f['resource']} is "
        + ("allowed" if f["allowed"] else "DENIED")
        + f" — {f['why']}"
    ),
    "preferred_replica": lambda a, f: (
        f"broker-{f['leader']} (leader of {f['part']}) tells {a} to fetch from broker-{f['broker']}"
        f" in its rack {f['rack']} (RackAwareReplicaSelector), until {f['until']} ms"
    ),
    "read_replica_cleared": lambda a, f: (
        f"{a}: fetching {f['part']} from broker-{f['broker']} fails ({f['error']}): back to"
        " the leader"
    ),
    "read_replica_expired": lambda a, f: (
        f"{a} asks the leader of {f['part']} again: broker-{f['broker']} was named"
        f" {f['max_age_ms']} ms ago (metadata.max.age.ms)"
    ),
    "send_refused": lambda a, f: (
        f"{a}: the send of messages #{_range(f['first'], f['count'])} fails: {f['error']}"
    ),
    "txn_call": lambda a, f: _TXN_CALLS.get(f["call"], _txn_call_default)(a, f),
    "txn_init": lambda a, f: (
        f"{a}: initTransactions() done — transactional.id {f['transactional_id']} is "
        f"producer id {f['producer_id']}, epoch {f['epoch']} (coordinator broker-"
        f"{f['coordinator']}); any older instance with a lower epoch is fenced"
    ),
    "txn_state": lambda a, f: (
        f"transaction coordinator ({a}): {f['transactional_id']} is {f['state']} at epoch "
        f"{f['epoch']}"
        + (f" over {', '.join(f['parts'])}" if f["parts"] else "")
        + f" ({f['why']})"
    ),
    "txn_marker": lambda a, f: (
        f"{a} writes a {f['marker']} marker at {f['part']} offset {f['offset']} for "
        f"{f['producer']}'s transaction: it takes an offset, and consumers never see it"
    ),
    "txn_marker_retry": lambda a, f: (
        f"transaction coordinator ({a}): the marker for {f['transactional_id']} at "
        f"{f['part']} failed ({f['error']}); it is retried until the leader has it"
    ),
    "txn_error": lambda a, f: (
        f"{a}: {f['request']} for {f['transactional_id']} got {f['error']}"
        + (
            " — fatal: the producer can only be closed"
            if f["fatal"]
            else (
                " — abortable: the application must abort the transaction"
                if f["request"] in ("Produce", "TxnOffsetCommit")
                else " — retried"
            )
        )
    ),
}

_TXN_CALLS: dict[str, Callable[[str, dict[str, Any]], str]] = {
    "initTransactions": lambda a, f: (
        f"{a} calls initTransactions() for transactional.id {f['transactional_id']}"
    ),
    "beginTransaction": lambda a, f: f"{a} begins transaction {f['number']}",
    "commitTransaction": lambda a, f: (
        f"{a} calls commitTransaction() for transaction {f['number']}: it flushes, then "
        "asks the coordinator to commit"
    ),
    "abortTransaction": lambda a, f: (
        f"{a} calls abortTransaction() for transaction {f['number']}"
        + (f" (after {f['after']})" if f.get("after") else "")
        + ": unsent records fail, the coordinator writes ABORT markers"
    ),
    "sendOffsetsToTransaction": lambda a, f: (
        f"{a} calls sendOffsetsToTransaction() with group {f['group']}'s metadata: the "
        "input offsets will commit with transaction " + str(f["number"])
    ),
    "stalls": lambda a, f: (
        f"{a} hangs for {f['ms']} ms inside transaction {f['number']} (the transaction stays open)"
    ),
    "fatal": lambda a, f: (
        f"{a} stops: {f['error']} is fatal — the application must close the producer; "
        "nothing it still holds is sent"
    ),
}


def _txn_call_default(a: str, f: dict[str, Any]) -> str:
    return f"{a} calls {f['call']}"


def describe(kind: str, actor: str, fields: dict[str, Any]) -> str:
    render = _TEXT.get(kind)
    return render(actor, fields) if render else f"{actor}: {kind}"
