"""Hypothesis strategies for random broker fault schedules on a 3-broker cluster, shared by
the replication and follower-fetching properties."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

BROKERS = st.sampled_from(["broker-0", "broker-1", "broker-2"])


def broker_faults(
    *,
    healing: bool,
    longest_ms: int = 40_000,
    max_delay_ms: int = 45_000,
    max_size: int = 5,
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Kills (back within 30 s, or, unless ``healing``, never), isolations and slow
    followers (for at most ``longest_ms``), starting in the first 40 s."""
    restart = st.integers(100, 30_000)
    last_at_ms = 40_000
    return st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "action": st.just("kill_broker"),
                    "target": BROKERS,
                    "at_ms": st.integers(0, last_at_ms),
                    "restart_after_ms": restart if healing else st.one_of(st.none(), restart),
                }
            ),
            st.fixed_dictionaries(
                {
                    "action": st.just("isolate_broker"),
                    "target": BROKERS,
                    "at_ms": st.integers(0, last_at_ms),
                    "duration_ms": st.integers(100, longest_ms),
                }
            ),
            st.fixed_dictionaries(
                {
                    "action": st.just("slow_follower"),
                    "target": BROKERS,
                    "at_ms": st.integers(0, last_at_ms),
                    "delay_ms": st.integers(1, max_delay_ms),
                    "duration_ms": st.integers(100, longest_ms),
                }
            ),
        ),
        max_size=max_size,
    )
