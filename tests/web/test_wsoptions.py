"""autobahn's debug text is made only when a debug line is written (`wsoptions`)."""

from __future__ import annotations

from typing import Any

import pytest
from autobahn import util
from autobahn.twisted import websocket as twisted_websocket
from autobahn.websocket import protocol

from playground import wsoptions


def test_names_and_values_are_coloured_only_when_written(monkeypatch: pytest.MonkeyPatch) -> None:
    wsoptions.install()
    made: list[Any] = []
    monkeypatch.setattr(util, "hltype", lambda obj: made.append(obj) or "<method>")
    for module in (protocol, twisted_websocket):
        text = module.hltype(test_names_and_values_are_coloured_only_when_written)  # type: ignore[attr-defined]
        value = module.hlval(1009)  # type: ignore[attr-defined]
        assert made == []  # as every write and every message received does: nothing made
        assert f"{text}: {value}".startswith("<method>: ") and "1009" in str(value)
        assert len(made) == 1
        made.clear()
