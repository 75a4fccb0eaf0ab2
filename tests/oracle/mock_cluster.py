"""librdkafka's in-process mock cluster, through ctypes on the library the pinned
``confluent-kafka`` wheel bundles (``confluent_kafka.libs/librdkafka*.so*``).

The C API is ``src/rdkafka_mock.h`` of confluentinc/librdkafka: a bare ``rd_kafka_t``
hosts the cluster (``rd_kafka_mock_cluster_new``); its brokers listen on 127.0.0.1 and
ordinary ``confluent_kafka.Producer``/``Consumer`` objects reach them through
``bootstrap.servers = cluster.bootstraps``. Every call here is thread-safe on the C side
(the mock runs its own thread).

>>> with MockCluster(brokers=1) as cluster:
...     cluster.create_topic("t", partitions=3)
...     producer = confluent_kafka.Producer({"bootstrap.servers": cluster.bootstraps})
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import confluent_kafka

# src/rdkafka_protocol.h
API_PRODUCE = 0
API_FETCH = 1
API_LIST_OFFSETS = 2
API_METADATA = 3
API_OFFSET_COMMIT = 8
API_OFFSET_FETCH = 9
API_FIND_COORDINATOR = 10
API_JOIN_GROUP = 11
API_HEARTBEAT = 12
API_LEAVE_GROUP = 13
API_SYNC_GROUP = 14
API_INIT_PRODUCER_ID = 22

# src/rdkafka.h rd_kafka_resp_err_t
ERR_REQUEST_TIMED_OUT = 7
ERR_NOT_LEADER_OR_FOLLOWER = 6
ERR_NOT_ENOUGH_REPLICAS = 19
ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND = 20

_RD_KAFKA_PRODUCER = 0


def library_path() -> Path:
    """The librdkafka shared object bundled with the installed confluent-kafka wheel."""
    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(libs.glob("librdkafka*.so*"))
    if not found:
        raise RuntimeError(f"no librdkafka*.so* in {libs}: is the confluent-kafka wheel installed?")
    return found[0]


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(str(library_path()))
    p, i, i16, i32, i64 = (
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int16,
        ctypes.c_int32,
        ctypes.c_int64,
    )
    s, size = ctypes.c_char_p, ctypes.c_size_t
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "rd_kafka_conf_new": (p, []),
        "rd_kafka_conf_set": (i, [p, s, s, s, size]),
        "rd_kafka_new": (p, [i, p, s, size]),
        "rd_kafka_destroy": (None, [p]),
        "rd_kafka_mock_cluster_new": (p, [p, i]),
        "rd_kafka_mock_cluster_destroy": (None, [p]),
        "rd_kafka_mock_cluster_bootstraps": (s, [p]),
        "rd_kafka_mock_topic_create": (i, [p, s, i, i]),
        "rd_kafka_mock_group_initial_rebalance_delay_ms": (None, [p, i32]),
        "rd_kafka_mock_push_request_errors_array": (None, [p, i16, size, ctypes.POINTER(i)]),
        "rd_kafka_mock_clear_request_errors": (None, [p, i16]),
        "rd_kafka_mock_broker_set_down": (i, [p, i32]),
        "rd_kafka_mock_broker_set_up": (i, [p, i32]),
        "rd_kafka_mock_start_request_tracking": (None, [p]),
        "rd_kafka_mock_stop_request_tracking": (None, [p]),
        "rd_kafka_mock_get_requests": (ctypes.POINTER(p), [p, ctypes.POINTER(size)]),
        "rd_kafka_mock_clear_requests": (None, [p]),
        "rd_kafka_mock_request_api_key": (i16, [p]),
        "rd_kafka_mock_request_timestamp": (i64, [p]),
        "rd_kafka_mock_request_id": (i32, [p]),
        "rd_kafka_mock_request_destroy_array": (None, [ctypes.POINTER(p), size]),
    }
    for name, (restype, argtypes) in signatures.items():
        func = getattr(lib, name)
        func.restype = restype
        func.argtypes = argtypes
    return lib


_LIB: ctypes.CDLL | None = None


def lib() -> ctypes.CDLL:
    global _LIB
    if _LIB is None:
        _LIB = _load()
    return _LIB


class MockCluster:
    """A librdkafka mock cluster with `brokers` brokers (ids 1..N), for one test."""

    def __init__(self, brokers: int = 1, initial_rebalance_delay_ms: int | None = None) -> None:
        rd = lib()
        conf = rd.rd_kafka_conf_new()
        errstr = ctypes.create_string_buffer(512)
        # A bare handle only hosts the cluster; keep its logging quiet.
        for key, value in ((b"log_level", b"3"), (b"client.id", b"mock-cluster-host")):
            if rd.rd_kafka_conf_set(conf, key, value, errstr, len(errstr)) != 0:
                raise RuntimeError(errstr.value.decode())
        self._rk = rd.rd_kafka_new(_RD_KAFKA_PRODUCER, conf, errstr, len(errstr))
        if not self._rk:
            raise RuntimeError(f"rd_kafka_new: {errstr.value.decode()}")
        self._mc = rd.rd_kafka_mock_cluster_new(self._rk, brokers)
        if not self._mc:
            rd.rd_kafka_destroy(self._rk)
            raise RuntimeError("rd_kafka_mock_cluster_new failed")
        self.bootstraps: str = rd.rd_kafka_mock_cluster_bootstraps(self._mc).decode()
        if initial_rebalance_delay_ms is not None:
            rd.rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, initial_rebalance_delay_ms)

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        if self._mc:
            lib().rd_kafka_mock_cluster_destroy(self._mc)
            self._mc = None
        if self._rk:
            lib().rd_kafka_destroy(self._rk)
            self._rk = None

    def __enter__(self) -> MockCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def client_config(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """A confluent_kafka configuration for this cluster: warnings and errors only, and
        no log line per closed connection (the mock closes them on teardown)."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstraps,
            "log_level": 3,
            "log.connection.close": False,
        }
        config.update(overrides or {})
        return config

    # -- topics, groups, brokers ------------------------------------------------------------

    def create_topic(self, name: str, partitions: int, replication_factor: int = 1) -> None:
        err = lib().rd_kafka_mock_topic_create(
            self._mc, name.encode(), partitions, replication_factor
        )
        if err:
            raise RuntimeError(f"rd_kafka_mock_topic_create({name!r}): error {err}")

    def set_initial_rebalance_delay_ms(self, delay_ms: int) -> None:
        lib().rd_kafka_mock_group_initial_rebalance_delay_ms(self._mc, delay_ms)

    def push_request_errors(self, api_key: int, *errors: int) -> None:
        """The next ``len(errors)`` requests of `api_key` (to any broker) fail with these
        errors, in order."""
        array = (ctypes.c_int * len(errors))(*errors)
        lib().rd_kafka_mock_push_request_errors_array(self._mc, api_key, len(errors), array)

    def broker_down(self, broker_id: int) -> None:
        lib().rd_kafka_mock_broker_set_down(self._mc, broker_id)

    def broker_up(self, broker_id: int) -> None:
        lib().rd_kafka_mock_broker_set_up(self._mc, broker_id)

    # -- request tracking -------------------------------------------------------------------

    def start_tracking(self) -> None:
        lib().rd_kafka_mock_start_request_tracking(self._mc)

    def clear_requests(self) -> None:
        lib().rd_kafka_mock_clear_requests(self._mc)

    def requests(self) -> list[tuple[int, int]]:
        """The requests received since tracking started (or was cleared), in arrival order,
        as (api key, rd_clock() µs)."""
        rd = lib()
        count = ctypes.c_size_t(0)
        array = rd.rd_kafka_mock_get_requests(self._mc, ctypes.byref(count))
        try:
            return [
                (
                    rd.rd_kafka_mock_request_api_key(array[k]),
                    rd.rd_kafka_mock_request_timestamp(array[k]),
                )
                for k in range(count.value)
            ]
        finally:
            if array:
                rd.rd_kafka_mock_request_destroy_array(array, count.value)

    def count_requests(self, api_key: int) -> int:
        return sum(1 for key, _ in self.requests() if key == api_key)


def wait_for(
    condition: Callable[[], Any],
    timeout_s: float,
    what: str,
    step: Callable[[], None] | None = None,
) -> Any:
    """Calls `step` (or sleeps 10 ms) until `condition()` is truthy; returns its value.
    Raises TimeoutError naming `what` after `timeout_s` (a bound on a condition, never a
    synchronisation by time)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")
        if step is not None:
            step()
        else:
            time.sleep(0.01)
