"""Who can reach whom: broker liveness, isolation (network partitions), slow followers.

Clients reach every live broker (an isolated broker is cut off from the other
brokers and the controller only — the Jepsen 2013 setting in which a stale leader
keeps acknowledging acks=1 writes). A dead broker refuses connections at once,
which the clients see as a disconnect (NetworkException) one round trip later.
"""

from __future__ import annotations


class Network:
    def __init__(self, brokers: int, latency: int) -> None:
        self.latency = latency
        self.alive = [True] * brokers
        self.isolated: set[int] = set()
        self.slow: dict[int, int] = {}  # follower broker -> extra ms per fetch answer

    def brokers_connected(self, a: int, b: int) -> bool:
        return (
            self.alive[a]
            and self.alive[b]
            and (a == b or (a not in self.isolated and b not in self.isolated))
        )

    def controller_reaches(self, broker: int) -> bool:
        return self.alive[broker] and broker not in self.isolated
