"""The validated scenario: plain, frozen data handed to the engine.

`simcore.scenario.parse` builds these from YAML/JSON/dicts (validation, Kafka defaults);
`simcore.kernel.engine` only reads them. Every Kafka setting the engine needs is a typed
field here, already resolved to the client family's real default; `config` keeps
the resolved property map (Kafka's own names) for display.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from simcore.security.authorizer import Acl
from simcore.security.connections import Listener

CLIENTS = ("java", "librdkafka")
COMMIT_STRATEGIES = ("auto", "sync-per-record", "sync-per-batch", "async", "async-with-retry")
RESET_POLICIES = ("earliest", "latest", "none")
CRASH_POINTS = ("after_poll", "before_process", "after_process", "before_commit", "after_commit")
CONSUMER_FAULTS = ("crash", "stop", "commit_fail", "commit_timeout")
BROKER_FAULTS = ("kill_broker", "slow_follower", "isolate_broker")
PRODUCER_FAULTS = ("drop_produce_response", "delay_produce_response", "produce_error")
PRODUCE_ERRORS = (
    "NOT_ENOUGH_REPLICAS",
    "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
    "NOT_LEADER_OR_FOLLOWER",
    # the idempotent producer's: the broker lost (or never had) its sequence numbers
    "OUT_OF_ORDER_SEQUENCE_NUMBER",
    "UNKNOWN_PRODUCER_ID",
)
IDEMPOTENT_PRODUCE_ERRORS = ("OUT_OF_ORDER_SEQUENCE_NUMBER", "UNKNOWN_PRODUCER_ID")
FAULT_ACTIONS = CONSUMER_FAULTS + BROKER_FAULTS + PRODUCER_FAULTS


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int
    min_insync_replicas: int = 1
    retention_ms: int = 604_800_000
    retention_bytes: int = -1
    segment_ms: int = 604_800_000
    segment_bytes: int = 1_073_741_824
    unclean_leader_election: bool = False  # unclean.leader.election.enable
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TransactionPlan:
    """The application loop of a transactional producer (YAML ``transactions``): it calls
    beginTransaction(), sends the records due for ``commit_every_ms``, then
    commitTransaction() (which flushes first) — or abortTransaction() for the transaction
    numbers (1-based) in ``abort``. In transaction ``stall`` the application hangs for
    ``stall_ms`` before it ends the transaction (a GC pause, a stuck call): the coordinator
    aborts it after transaction.timeout.ms and fences the producer."""

    commit_every_ms: int = 100
    abort: tuple[int, ...] = ()
    stall: int | None = None
    stall_ms: int = 0


@dataclass(frozen=True)
class ProducerSpec:
    id: str
    topic: str
    messages: int  # total records this producer sends
    rate_per_s: float  # records per second, evenly spaced
    start_ms: int = 0
    rate_changes: tuple[tuple[int, float, bool], ...] = ()  # (at_ms, rate, injected); 0 pauses
    key: str | None = None  # template with {i}; None = null key
    value: str = "message {i}"  # template with {i}
    client: str = "java"
    partition: int | None = None  # explicit partition wins over the key
    acks: int = -1  # 0, 1 or -1 (all)
    linger_ms: int = 5
    batch_size: int = 16384
    enable_idempotence: bool = True
    retries: int = 2_147_483_647
    retry_backoff_ms: int = 100
    retry_backoff_max_ms: int = 1000  # KIP-580 (3.7+): exponential backoff cap
    request_timeout_ms: int = 30_000  # the broker's acks=all timeout; Java's client timeout too
    socket_timeout_ms: int = 60_000  # librdkafka only: its client-side request timeout
    delivery_timeout_ms: int = 120_000
    max_in_flight: int = 5
    max_request_size: int = 1_048_576  # max.request.size (Java)
    partitioner: str = "murmur2"  # java: murmur2 (built-in); librdkafka: consistent_random, ...
    transactional_id: str | None = None  # transactional.id: implies idempotence (KIP-98)
    transaction_timeout_ms: int = 60_000  # transaction.timeout.ms (both clients)
    transactions: TransactionPlan | None = None  # what the app does with its transactions
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def acks_text(self) -> str:
        """acks as it is written in a client config: all, 1 or 0."""
        return "all" if self.acks == -1 else str(self.acks)


# --- what the application does with each record (simcore/scenario/processing.py) ---------

ON_FAILURE = ("retry", "skip", "dead_letter", "retry_topics")
SINKS = ("none", "naive", "idempotent")


@dataclass(frozen=True, kw_only=True)
class FailureRule:
    """Records whose processing throws: by key, or by position in a source topic.
    ``fails``: how many attempts fail before one succeeds; None = every attempt
    (a permanent failure, e.g. a record the code cannot parse)."""

    key: str | None = None
    topic: str | None = None  # with offset; None: any topic the consumer reads
    partition: int | None = None  # with offset; None: any partition
    offset: int | None = None
    fails: int | None = None


@dataclass(frozen=True, kw_only=True)
class ProcessingSpec:
    """The application's processing of each record and its error handling.

    ``on_failure``: ``retry`` (in place, ``max_attempts`` attempts with ``backoff_ms``
    between them, then log and skip: Spring's DefaultErrorHandler; None attempts =
    forever), ``skip`` (log and go on), ``dead_letter`` (``retry`` in place, then publish
    to ``dead_letter_topic``: DeadLetterPublishingRecoverer), ``retry_topics`` (publish to
    the retry topics, one per delay, then the DLT: Spring's @RetryableTopic).
    The retry topics' own consumers are generated (``stage`` > 0, ``app`` = the main
    group, ``delay_ms`` the topic's delay, ``next_topic`` where a failure goes)."""

    failures: tuple[FailureRule, ...] = ()
    failure_rate: float = 0.0  # share of records that fail, drawn from the seed
    rate_fails: int | None = None  # attempts that fail for a drawn record; None: all
    on_failure: str = "retry"
    max_attempts: int | None = 10  # DefaultErrorHandler's FixedBackOff(0, 9): 10
    backoff_ms: int = 0
    dead_letter_topic: str | None = None
    retry_delays: tuple[int, ...] = ()
    sink: str = "none"
    app: str = ""  # the application (its main group): retry consumers share its sink
    stage: int = 0  # 0: the main listener; k: the k-th retry topic's listener
    delay_ms: int = 0  # a retry topic's delay (processing waits until due)
    next_topic: str | None = None  # where this stage sends a failed record


@dataclass(frozen=True)
class PipelineSpec:
    """A consume-transform-produce application (YAML ``pipeline`` on a consumer): each
    record it processes makes one result record on ``output``; every ``commit_every_ms``
    it commits. With a ``transactional_id`` (exactly-once): the results and the input
    offsets go in one transaction (sendOffsetsToTransaction with the consumer's group
    metadata, KIP-447; commitTransaction). Without (at-least-once): it flushes the
    results, then commitSync()s the input offsets."""

    output: str
    transactional_id: str | None = None
    commit_every_ms: int = 100


@dataclass(frozen=True)
class ConsumerSpec:
    id: str
    group: str
    topics: tuple[str, ...]
    start_ms: int = 0
    client: str = "java"
    processing_ms: int = 0  # per record
    processing_changes: tuple[tuple[int, int, bool], ...] = ()  # (at_ms, ms, injected)
    injected: bool = False  # added interactively (e.g. "add a consumer here")
    commit: str = "auto"
    enable_auto_commit: bool = True
    auto_commit_interval_ms: int = 5000
    auto_offset_reset: str = "latest"  # normalised: earliest | latest | none
    enable_auto_offset_store: bool = True  # librdkafka only
    max_poll_records: int = 500  # librdkafka hands out one message per poll: 1
    fetch_min_bytes: int = 1
    fetch_max_wait_ms: int = 500
    fetch_max_bytes: int = 52_428_800  # fetch.max.bytes (KIP-74)
    max_partition_fetch_bytes: int = 1_048_576  # max.partition.fetch.bytes
    max_poll_interval_ms: int = 300_000
    session_timeout_ms: int = 45_000
    heartbeat_interval_ms: int = 3000
    default_api_timeout_ms: int = 60_000
    request_timeout_ms: int = 30_000
    retry_backoff_ms: int = 100
    isolation_level: str = "read_uncommitted"
    client_rack: str = ""  # client.rack (KIP-392): where the consumer runs
    metadata_max_age_ms: int = 300_000  # metadata.max.age.ms: a preferred replica expires
    assignors: tuple[str, ...] = ("range", "cooperative-sticky")  # partition.assignment.strategy
    group_instance_id: str | None = None  # static membership (KIP-345)
    commit_on_revoke: bool = False  # the app commits its position in onPartitionsRevoked
    group_protocol: str = "classic"  # group.protocol: classic | consumer (KIP-848)
    remote_assignor: str | None = None  # group.remote.assignor (consumer protocol; None: uniform)
    processing: ProcessingSpec | None = None  # failures and error handling (issue 15)
    pipeline: PipelineSpec | None = None  # consume-transform-produce (docs/transactions.md)
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def retry_listener(self) -> bool:
        """Generated for a retry topic of another consumer's processing block (not in the
        scenario's source: its settings follow that consumer's)."""
        return self.processing is not None and self.processing.stage > 0


@dataclass(frozen=True)
class BrokerSpec:
    """Broker-wide settings (scenario key ``broker_config``, Kafka's names)."""

    replica_lag_time_max_ms: int = 30_000  # replica.lag.time.max.ms
    replica_fetch_wait_max_ms: int = 500  # replica.fetch.wait.max.ms
    replica_fetch_max_bytes: int = 1_048_576  # replica.fetch.max.bytes
    replica_fetch_response_max_bytes: int = 10_485_760  # replica.fetch.response.max.bytes
    broker_session_timeout_ms: int = 9_000  # broker.session.timeout.ms (KRaft)
    group_initial_rebalance_delay_ms: int = 3_000  # group.initial.rebalance.delay.ms
    group_consumer_heartbeat_interval_ms: int = 5_000  # group.consumer.heartbeat.interval.ms
    group_consumer_session_timeout_ms: int = 45_000  # group.consumer.session.timeout.ms
    offsets_retention_minutes: int = 10_080  # offsets.retention.minutes
    offsets_retention_check_interval_ms: int = 600_000  # offsets.retention.check.interval.ms
    log_retention_check_interval_ms: int = 300_000  # log.retention.check.interval.ms
    log_initial_task_delay_ms: int = 30_000  # log.initial.task.delay.ms
    # replica.selector.class: RackAwareReplicaSelector's class name, or None (the leader)
    rack_aware_reads: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)


# --- faults: one dataclass per kind (the YAML's `action`), all keyword-only -------------


@dataclass(frozen=True, kw_only=True)
class _Fault:
    action: ClassVar[str]  # the YAML's name for this kind
    target: str  # consumer id, producer id, or "broker-N"
    at_ms: int | None = None  # time trigger (a crash may use a point instead)
    injected: bool = False  # added interactively from the browser


@dataclass(frozen=True, kw_only=True)
class ConsumerCrash(_Fault):
    """The consumer's process dies (kill -9): at ``at_ms``, or at a point of its record
    lifecycle (see CRASH_POINTS) for the record at ``offset``."""

    action: ClassVar[str] = "crash"
    point: str | None = None
    offset: int | None = None  # with point: the record offset the point refers to
    topic: str | None = None  # with point: optional, defaults to any topic
    partition: int | None = None  # with point: optional, defaults to any partition
    restart_after_ms: int | None = None  # None: stays down


@dataclass(frozen=True, kw_only=True)
class ConsumerStop(_Fault):
    """A graceful close(): commit, then LeaveGroup."""

    action: ClassVar[str] = "stop"
    restart_after_ms: int | None = None


@dataclass(frozen=True, kw_only=True)
class CommitFail(_Fault):
    """The coordinator answers the next ``count`` commits of the target with an error."""

    action: ClassVar[str] = "commit_fail"
    count: int = 1
    retriable: bool = True  # COORDINATOR_NOT_AVAILABLE, or UNKNOWN_MEMBER_ID


@dataclass(frozen=True, kw_only=True)
class CommitTimeout(_Fault):
    """The next ``count`` commits of the target get no answer."""

    action: ClassVar[str] = "commit_timeout"
    count: int = 1


@dataclass(frozen=True, kw_only=True)
class BrokerKill(_Fault):
    action: ClassVar[str] = "kill_broker"
    restart_after_ms: int | None = None

    @property
    def broker(self) -> int:
        return int(self.target.removeprefix("broker-"))


@dataclass(frozen=True, kw_only=True)
class BrokerIsolation(_Fault):
    action: ClassVar[str] = "isolate_broker"
    duration_ms: int | None = None  # None: to the end

    @property
    def broker(self) -> int:
        return int(self.target.removeprefix("broker-"))


@dataclass(frozen=True, kw_only=True)
class SlowFollower(_Fault):
    action: ClassVar[str] = "slow_follower"
    delay_ms: int  # extra ms per fetch
    duration_ms: int | None = None  # None: to the end

    @property
    def broker(self) -> int:
        return int(self.target.removeprefix("broker-"))


@dataclass(frozen=True, kw_only=True)
class DroppedProduceResponse(_Fault):
    action: ClassVar[str] = "drop_produce_response"
    count: int = 1


@dataclass(frozen=True, kw_only=True)
class DelayedProduceResponse(_Fault):
    action: ClassVar[str] = "delay_produce_response"
    count: int = 1
    delay_ms: int


@dataclass(frozen=True, kw_only=True)
class ProduceError(_Fault):
    action: ClassVar[str] = "produce_error"
    count: int = 1
    error: str = "NOT_ENOUGH_REPLICAS"  # one of PRODUCE_ERRORS


FaultSpec = (
    ConsumerCrash
    | ConsumerStop
    | CommitFail
    | CommitTimeout
    | BrokerKill
    | BrokerIsolation
    | SlowFollower
    | DroppedProduceResponse
    | DelayedProduceResponse
    | ProduceError
)
BrokerFault = BrokerKill | BrokerIsolation | SlowFollower
CommitFault = CommitFail | CommitTimeout
ProducerFault = DroppedProduceResponse | DelayedProduceResponse | ProduceError


@dataclass(frozen=True)
class QuestionSpec:
    """A question to predict before the reveal; the run computes its answer
    (questions.py)."""

    id: str
    ask: str
    answer: str  # where the answer is: ledger.<...>, owner <group> <tp> [at <ms>], error <id>
    kind: str  # "number" or "choice"
    choices: tuple[str, ...] = ()
    at_ms: int | None = None  # when to ask it (the step a workshop opens it at)


@dataclass(frozen=True)
class SecuritySpec:
    """The scenario's ``security:`` section: the listener the clients connect to, the
    SASL credentials the brokers know, and the authorizer's ACLs and settings. Without it
    the cluster has no authorizer (``authorizer.class.name`` unset): everything is allowed,
    as in Kafka."""

    listener: Listener = field(default_factory=Listener)
    users: tuple[tuple[str, str], ...] = ()  # (user name, password): PLAIN / SCRAM credentials
    super_users: frozenset[str] = frozenset()
    allow_everyone_if_no_acl_found: bool = False
    acls: tuple[Acl, ...] = ()
    authorizer: bool = True  # an authorizer is configured (acls given, or asked for)


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    duration_ms: int
    brokers: int
    topics: tuple[TopicSpec, ...]
    producers: tuple[ProducerSpec, ...]
    consumers: tuple[ConsumerSpec, ...]
    faults: tuple[FaultSpec, ...] = ()
    description: str = ""
    network_latency_ms: int = 1  # one-way, client <-> broker
    broker: BrokerSpec = field(default_factory=BrokerSpec)
    questions: tuple[QuestionSpec, ...] = ()
    security: SecuritySpec | None = None
    broker_racks: tuple[str, ...] = ()  # broker.rack of each broker (empty: no racks)
    source: Mapping[str, Any] = field(
        default_factory=dict
    )  # the input as given (canonical JSON-able)
