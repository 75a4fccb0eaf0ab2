"""Rates and token buckets, with no Django settings behind them (settings.py reads rates).

A bucket holds at most `capacity` tokens and gains `capacity / period` tokens a second; an
action takes one token, or is refused with the seconds until one is back.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Rate:
    capacity: int
    period: float  # seconds to refill from empty

    @property
    def per_second(self) -> float:
        return self.capacity / self.period

    @classmethod
    def parse(cls, name: str, text: str) -> Rate:
        """`N/S`: N actions at once, N more every S seconds (e.g. `20/60`)."""
        count, _, seconds = text.partition("/")
        try:
            rate = cls(int(count), float(seconds))
        except ValueError:
            raise ImproperlyConfigured(f"{name}={text!r}: expected N/S, e.g. 20/60") from None
        if rate.capacity < 1 or not 0 < rate.period < math.inf:
            raise ImproperlyConfigured(f"{name}={text!r}: N ≥ 1 actions per S > 0 seconds")
        return rate


class TokenBucket:
    """One bucket; not locked (a websocket connection's bucket is used by its task only)."""

    def __init__(self, rate: Rate, now: float | None = None) -> None:
        self.rate = rate
        self.tokens = float(rate.capacity)
        self.stamp = time.monotonic() if now is None else now

    def take(self, now: float | None = None) -> float:
        """0 if the action may go ahead (a token is spent), else seconds until it may."""
        now = time.monotonic() if now is None else now
        self.tokens = min(
            self.rate.capacity, self.tokens + (now - self.stamp) * self.rate.per_second
        )
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate.per_second
