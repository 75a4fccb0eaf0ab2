"""Assembles a run: cluster, coordinator, producers, consumers, recorder; runs it."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable

from simcore.broker.cluster import Cluster
from simcore.broker.transactions import TransactionCoordinator
from simcore.consumer.consumer import Consumer
from simcore.consumer.processing import RecordProcessor, World
from simcore.groups.coordinator import ConsumerProtocolSettings, Coordinator
from simcore.kernel.collector import collector_paused
from simcore.kernel.engine import Engine
from simcore.kernel.timeline import QUIET_IN_LARGE_RUNS, Timeline
from simcore.producer.on_demand import OnDemandProducer
from simcore.producer.producer import Producer, render
from simcore.run.access import Access, client_access
from simcore.run.frames import LARGE_RUN_MESSAGES, Recorder
from simcore.run.invariants import InvariantChecker
from simcore.run.pipeline import Pipeline, results_spec
from simcore.scenario.spec import (
    BrokerIsolation,
    BrokerKill,
    ConsumerSpec,
    ProducerSpec,
    Scenario,
    SlowFollower,
)

VERSION = "0.2.0"


class Simulation:
    def __init__(
        self,
        scenario: Scenario,
        *,
        check_invariants: bool = False,
        max_events: int | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.scenario = scenario
        self.engine = Engine(
            scenario.seed, scenario.duration_ms, max_events=max_events, should_stop=should_stop
        )
        large = sum(p.messages for p in scenario.producers) > LARGE_RUN_MESSAGES
        self.timeline = Timeline(
            lambda: self.engine.now, QUIET_IN_LARGE_RUNS if large else frozenset()
        )
        self.cluster = Cluster(self.engine, scenario, self.timeline)
        transactional = sorted(
            {p.transactional_id for p in scenario.producers if p.transactional_id}
            | {
                c.pipeline.transactional_id
                for c in scenario.consumers
                if c.pipeline is not None and c.pipeline.transactional_id
            }
        )
        if transactional:
            self.cluster.transactions = TransactionCoordinator(self.cluster, transactional)
        partitions = self.cluster.partitions
        self.coordinator = Coordinator(
            self.engine,
            self.timeline,
            lambda tp: partitions[tp].log.hw,
            scenario.faults,
            scenario.broker.group_initial_rebalance_delay_ms,
            scenario.broker.offsets_retention_minutes,
            ConsumerProtocolSettings(
                frozenset(c.group for c in scenario.consumers if c.group_protocol == "consumer"),
                self.cluster.partition_counts,
                scenario.broker.group_consumer_heartbeat_interval_ms,
                scenario.broker.group_consumer_session_timeout_ms,
            ),
            scenario.broker.offsets_retention_check_interval_ms,
        )
        self.producers: list[Producer] = []
        base = 0
        for index, spec in enumerate(scenario.producers):
            faults = [f for f in scenario.faults if f.target == spec.id]
            self.producers.append(
                Producer(self.engine, self.cluster, self.timeline, spec, base, index, faults)
            )
            base += spec.messages
        self.total_messages = base
        self.consumers = self._build_consumers()
        self.access: dict[str, Access] = {}  # with a security section: each client's
        self.pipelines = self._build_pipelines(base)
        self.processing = self._attach_processors()
        self.recorder = Recorder(self, check=check_invariants)
        checker = InvariantChecker(self) if check_invariants else None
        if checker is not None or self.recorder.per_event:
            self.engine.after_event = self._after_event_hook(checker)
        else:
            self.engine.on_time = self.recorder.on_time
            self.engine.time_mark = self.recorder.next_slice

    def _build_consumers(self) -> list[Consumer]:
        fine = self.total_messages <= LARGE_RUN_MESSAGES
        return [
            Consumer(
                self.engine,
                self.cluster,
                self.coordinator,
                self.timeline,
                spec,
                [f for f in self.scenario.faults if f.target == spec.id],
                fine_grained=fine,
            )
            for spec in self.scenario.consumers
        ]

    def _build_pipelines(self, base: int) -> list[Pipeline]:
        """Each pipeline consumer gets its results producer (its message ids follow the
        scenario's producers'), and the pipeline that ties them together."""
        pipelines = []
        coordinator = self.cluster.transactions
        if coordinator is not None:
            coordinator.offsets_markers = self.coordinator.complete_txn
        for consumer in self.consumers:
            pipeline = consumer.spec.pipeline
            if pipeline is None:
                continue
            spec = results_spec(self.scenario, consumer.spec, pipeline)
            output = OnDemandProducer(
                self.engine, self.cluster, self.timeline, spec, base, len(self.producers)
            )
            base += spec.messages
            self.producers.append(output)
            pipelines.append(Pipeline(consumer, output, pipeline, self.coordinator))
        return pipelines

    def _attach_processors(self) -> World | None:
        """Consumers whose processing can fail (issue 15) share one World: the
        applications, their sinks, and the records they republish (ids after the
        producers')."""
        with_processing = [c for c in self.consumers if c.spec.processing is not None]
        if not with_processing:
            return None
        # republished records take ids after every producer's, pipelines' results included
        first_id = max((p.msg_base + p.spec.messages for p in self.producers), default=0)
        world = World(self.engine, self.cluster, self.timeline, first_id, self._key_of)
        for consumer in with_processing:
            assert consumer.spec.processing is not None
            consumer.processor = RecordProcessor(consumer, world, consumer.spec.processing)
        return world

    def _key_of(self, msg: int) -> str | None:
        """The key a producer gave message ``msg`` (None: a null key)."""
        bases = [p.msg_base for p in self.producers]
        producer = self.producers[bisect_right(bases, msg) - 1]
        key = producer.spec.key
        return None if key is None else render(key, msg - producer.msg_base)

    def _after_event_hook(self, checker: InvariantChecker | None) -> Callable[[], None]:
        record = self.recorder.after_event
        if checker is None:
            return record

        def both() -> None:
            checker.check()
            record()

        return both

    def _schedule_broker_faults(self) -> None:
        controller = self.cluster.controller
        for fault in self.scenario.faults:
            if fault.at_ms is None:
                continue
            if isinstance(fault, BrokerKill):
                self.engine.at(
                    fault.at_ms,
                    controller.kill,
                    fault.broker,
                    fault.restart_after_ms,
                    fault.injected,
                )
            elif isinstance(fault, BrokerIsolation):
                self.engine.at(
                    fault.at_ms, controller.isolate, fault.broker, fault.duration_ms, fault.injected
                )
            elif isinstance(fault, SlowFollower):
                broker = fault.broker
                self.engine.at(fault.at_ms, self._slow, broker, fault.delay_ms, fault.injected)
                if fault.duration_ms is not None:
                    self.engine.at(
                        fault.at_ms + fault.duration_ms, self._slow, broker, 0, fault.injected
                    )

    def _slow(self, broker: int, delay_ms: int, injected: bool) -> None:
        network = self.cluster.network
        if delay_ms:
            network.slow[broker] = delay_ms
        else:
            network.slow.pop(broker, None)
        self.timeline.record(
            "follower_slow", f"broker-{broker}", delay_ms=delay_ms, injected=injected
        )

    def _admit_clients(self) -> set[str]:
        """With a ``security:`` section: each client's connection and ACL decisions are
        recorded when it starts, and the clients that cannot get in are refused (their
        ids are returned)."""
        security = self.scenario.security
        refused: set[str] = set()
        if security is None:
            return refused
        # a pipeline's results producer runs in its consumer's process: not a client of its own
        for index, producer in enumerate(self.producers[: len(self.scenario.producers)]):
            access = self.access[producer.spec.id] = client_access(security, producer.spec, index)
            self.engine.at(producer.spec.start_ms, self._record_access, producer.spec.id, access)
            if not access.allowed:
                refused.add(producer.spec.id)
                producer.refuse(*_producer_refusal(producer.spec, access))
        for index, consumer in enumerate(self.consumers):
            access = self.access[consumer.spec.id] = client_access(security, consumer.spec, index)
            self.engine.at(consumer.spec.start_ms, self._record_access, consumer.spec.id, access)
            if not access.allowed:
                refused.add(consumer.spec.id)
                consumer.refuse(*_consumer_refusal(consumer.spec, access))
        return refused

    def _record_access(self, client: str, access: Access) -> None:
        outcome = access.connection
        self.timeline.record(
            "connection",
            client,
            principal=access.principal,
            listener=self.scenario.security.listener.protocol if self.scenario.security else "",
            connected=outcome.connected,
            stage=outcome.stage,
            reported=outcome.reported,
            because=outcome.because,
        )
        for check in access.checks:
            self.timeline.record(
                "authorization",
                client,
                request=check.request,
                operation=check.operation,
                resource=f"{check.resource_type} {check.name}",
                principal=access.principal,
                host=access.host,
                allowed=check.decision.allowed,
                rule=check.decision.rule,
                why=check.decision.why(),
            )

    def header(self) -> str:
        return f"simcore {VERSION} seed={self.scenario.seed} scenario={self.scenario.name}\n"

    def run(self) -> None:
        """Runs the scenario to its end, the garbage collector paused (kernel/collector.py)."""
        with collector_paused():
            self._run()

    def _run(self) -> None:
        self.cluster.start()
        refused = self._admit_clients()
        if self.cluster.transactions is not None:
            self.cluster.transactions.start()
        for producer in self.producers:
            if producer.spec.id not in refused:
                producer.start()
        for consumer in self.consumers:
            if consumer.spec.id not in refused:
                consumer.schedule()
        self._schedule_broker_faults()
        self.engine.run()
        for consumer in self.consumers:
            consumer.finish_metrics()
        self.recorder.final()


JAVA_MAX_BLOCK_MS = 60_000  # max.block.ms: send() waits this long for the topic's metadata


def _producer_refusal(spec: ProducerSpec, access: Access) -> tuple[str, int, bool]:
    """(error, delay, blocking) for ``Producer.refuse``: what each send reports, when."""
    java = spec.client == "java"
    denied = access.denied
    if denied is not None:  # the broker answers TOPIC_AUTHORIZATION_FAILED: not retriable
        return denied.error(spec.client), 0, False
    outcome = access.connection
    if java and outcome.fatal:
        return outcome.reported, 0, False  # send() returns the AuthenticationException
    if java:
        error = "TimeoutException: Topic not present in metadata after 60000 ms"
        return error, JAVA_MAX_BLOCK_MS, True
    return "Local: Message timed out", spec.delivery_timeout_ms, False


def _consumer_refusal(spec: ConsumerSpec, access: Access) -> tuple[str, bool]:
    """(error, fatal) for ``Consumer.refuse``."""
    java = spec.client == "java"
    denied = access.denied
    if denied is not None:  # Java: poll() throws it; librdkafka: poll() returns it, retries
        return denied.error(spec.client), java
    outcome = access.connection
    if java:
        return (outcome.reported, True) if outcome.fatal else ("", False)
    return outcome.reported, False
