"""What several Daphne processes share through Redis (REDIS_URL): finished runs, rate limits,
and the count of simulations run.

A finished run is stored once as bytes (`runner.Outcome.to_bytes`: the run's data and its
stream, deflated) under its scenario digest and simcore's version, so a process that did
not simulate it serves it as it is. Only data is stored, never pickles: whoever can write
to Redis cannot make a web process run code. Entries expire (`SHARED_RUN_TTL`, shorter
for a run stopped by the wall-time cap, which a quieter machine may finish); give Redis a
`maxmemory` with `allkeys-lru` so that it stays bounded too (compose.yaml does).

Without REDIS_URL nothing here is used: every process keeps its own caches and counts.
"""

from __future__ import annotations

import threading
from typing import Any

import redis
from django.conf import settings

from simcore import __version__ as SIMCORE_VERSION

RedisError = redis.RedisError
PREFIX = "playground"
SIMULATIONS = "simulations"  # counter: simulations run by every process sharing this Redis

_lock = threading.Lock()
_client: redis.Redis | None = None
_client_url = ""


def enabled() -> bool:
    return bool(settings.REDIS_URL)


def client() -> redis.Redis:
    """One client (a thread-safe connection pool) per process and URL."""
    global _client, _client_url
    with _lock:
        if _client is None or _client_url != settings.REDIS_URL:
            _client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
            )
            _client_url = settings.REDIS_URL
        return _client


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))


def run_key(digest: str) -> str:
    return key("run", SIMCORE_VERSION, digest)


def get_run(digest: str) -> bytes | None:
    value: Any = client().get(run_key(digest))
    return bytes(value) if value is not None else None


def put_run(digest: str, data: bytes, ttl_seconds: int) -> None:
    client().set(run_key(digest), data, ex=ttl_seconds)


def count_simulation() -> None:
    client().incr(key(SIMULATIONS))


def simulations() -> int:
    """Simulations run by every process sharing this Redis."""
    return int(client().get(key(SIMULATIONS)) or 0)
