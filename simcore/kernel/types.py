"""Small types every part of the model shares."""

from __future__ import annotations

TopicPartition = tuple[str, int]  # (topic, partition), as the clients key a partition
