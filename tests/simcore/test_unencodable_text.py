"""Text that cannot be encoded or stored is refused at validation, naming the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from simcore import ScenarioError, loads_scenario, parse_scenario, scenario_digest

BASE: dict[str, Any] = {
    "name": "plain",
    "topics": [{"name": "t"}],
    "producers": [{"id": "p1", "topic": "t", "messages": 3, "rate_per_s": 1}],
    "consumers": [{"id": "c1", "group": "g", "topics": ["t"]}],
}


def _with(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(BASE))
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "field", "what"),
    [
        (_with(name="x\ud800y"), "name", "lone surrogate U+D800"),
        (_with(name="a\x00b"), "name", "NUL"),
        (_with(description="ok\udfff"), "description", "lone surrogate U+DFFF"),
        (
            _with(consumers=[{"id": "c1", "group": "g", "topics": ["t"], "config": {"a\x00": 1}}]),
            "consumers[0].config.a\\u0000",
            "NUL",
        ),
    ],
)
def test_it_refuses_unencodable_text_naming_the_field(
    data: dict[str, Any], field: str, what: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(data)
    assert caught.value.field == field
    assert what in caught.value.message
    str(caught.value).encode()  # the message itself can be shown


def test_a_json_or_yaml_escape_cannot_smuggle_a_surrogate_in() -> None:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario('name: "x\\ud800y"\ntopics: [{name: t}]')
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    "text", ["seed: " + "9" * 5000, "{'seed': " + "9" * 5000 + "}", "seed: 2001-02-30"]
)
def test_values_python_cannot_build_are_a_yaml_error(text: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        loads_scenario(text)
    assert caught.value.field == "yaml"
    assert "sys." not in caught.value.message


def test_plain_unicode_still_validates_and_digests() -> None:
    scenario = parse_scenario(_with(name="Zürich ☃ 日本", description="𝔘𝔫𝔦𝔠𝔬𝔡𝔢 and emoji 🎉"))
    assert len(scenario_digest(scenario)) == 64
