"""Small types every part of the model shares."""

from __future__ import annotations

from typing import NamedTuple


class TopicPartition(NamedTuple):
    topic: str
    partition: int


def client_host(kind: str, index: int) -> str:
    """The address the ``index``-th (from 0) producer or consumer of a scenario connects
    from: what ``kafka-consumer-groups --describe`` shows as HOST (with a leading '/'), and
    what ACL hosts match. Consumers 10.0.0.10, .11, ...; producers 10.0.1.10, .11, ..."""
    return f"10.0.{0 if kind == 'consumer' else 1}.{index + 10}"
