"""Fixtures of the oracle suite: a fresh librdkafka mock cluster per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.oracle.mock_cluster import MockCluster


@pytest.fixture
def cluster() -> Iterator[MockCluster]:
    with MockCluster(brokers=1) as mock:
        yield mock
