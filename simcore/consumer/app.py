"""What a consumer's application may add to its poll loop: the hooks a
consume-transform-produce pipeline (``simcore.run.pipeline``) implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from simcore.kernel.types import TopicPartition


class ConsumerApp(Protocol):
    def on_processed(self, tp: TopicPartition, first: int, msgs: Sequence[int]) -> None:
        """The records were processed: their side effects happen now."""

    def after_batch(self) -> None:
        """Everything one poll() returned is processed: the app polls again (or commits
        first) by calling the consumer back."""

    def on_crash(self) -> None:
        """The process died (its other clients with it)."""

    def on_restart(self) -> None:
        """The process starts again."""
