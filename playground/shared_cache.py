"""What several Daphne processes share through Redis (REDIS_URL): finished runs, rate limits,
and the count of simulations run.

A finished run is stored once as bytes (`runner.Outcome.to_bytes`: the run's data and its
stream, deflated) under its scenario digest and simcore's version, so a process that did
not simulate it serves it as it is. Only data is stored, never pickles: whoever can write
to Redis cannot make a web process run code. Entries expire (`SHARED_RUN_TTL`, shorter
for a run stopped by the wall-time cap, which a quieter machine may finish); give Redis a
`maxmemory` with `allkeys-lru` so that it stays bounded too (compose.yaml does).

One computation per run: before simulating, a process claims the run (`claim_run`: SET NX
with an expiry, so a claim dies with its process); another process asking for it meanwhile
waits for the stored run instead of simulating it again (`runner`), and takes over if the
claim goes away without a run (a failure is not stored; the claimant stopped).

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
WAITS = "waits"  # counter: runs a process waited for because another one was computing them

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


def claim_key(digest: str) -> str:
    return key("computing", SIMCORE_VERSION, digest)


def claim_run(digest: str, owner: str, ttl_seconds: int) -> bool:
    """True if this caller now computes the run; False if another one already does."""
    return bool(client().set(claim_key(digest), owner, nx=True, ex=ttl_seconds))


# Deletes the claim only if it is still this owner's (an expired one may be someone else's).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"


def release_run(digest: str, owner: str) -> None:
    client().eval(_RELEASE, 1, claim_key(digest), owner)


def run_claimed(digest: str) -> bool:
    return bool(client().exists(claim_key(digest)))


def count_wait() -> None:
    client().incr(key(WAITS))


def waits() -> int:
    """Runs a process waited for because another process was computing them."""
    return int(client().get(key(WAITS)) or 0)
