"""Token buckets: how often one client may start a run, save an edit, send a websocket message.

A bucket (`rates.TokenBucket`) refuses an action with the seconds until it may go ahead:
the Retry-After the client is told. Runs and edits are counted per client address — in
Redis when REDIS_URL is set, so every process behind one port shares the count, else in
this process. Websocket messages are counted per connection (a connection lives in one
process).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from django.conf import settings

from playground import shared_cache
from playground.rates import Rate, TokenBucket

logger = logging.getLogger(__name__)

MAX_LOCAL_KEYS = 50_000  # clients remembered in-process; the least recently seen go first

_lock = threading.Lock()
_local: OrderedDict[tuple[str, str], TokenBucket] = OrderedDict()

# KEYS[1] the bucket; ARGV capacity, tokens a second. Redis's own clock, so that processes
# on several machines agree. Returns the wait in seconds as a string (Lua numbers would
# come back truncated to integers).
TAKE_SCRIPT = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


def rate_for(kind: str) -> Rate:
    rate: Rate = {"runs": settings.RATE_RUNS, "edits": settings.RATE_EDITS}[kind]
    return rate


def take(kind: str, client: str | None) -> float:
    """Spend one of `client`'s `kind` tokens: 0 if allowed, else seconds to wait.

    An unknown client (a request that did not come through the ASGI server, e.g. a test's
    or a management command's) is not limited. If Redis cannot be reached the action is
    allowed: a limit that fails closed would take the site down with its cache.
    """
    if client is None:
        return 0.0
    rate = rate_for(kind)
    if shared_cache.enabled():
        try:
            return float(
                shared_cache.client().eval(
                    TAKE_SCRIPT,
                    1,
                    shared_cache.key("rate", kind, client),
                    rate.capacity,
                    rate.per_second,
                )
            )
        except shared_cache.RedisError as err:
            logger.warning("rate limit %s for %s not checked: %s", kind, client, err)
            return 0.0
    with _lock:
        bucket = _local.get((kind, client))
        if bucket is None or bucket.rate != rate:
            bucket = _local[(kind, client)] = TokenBucket(rate)
        _local.move_to_end((kind, client))
        while len(_local) > MAX_LOCAL_KEYS:
            _local.popitem(last=False)
        return bucket.take()


def reset() -> None:
    """Forget every in-process bucket (tests)."""
    with _lock:
        _local.clear()
