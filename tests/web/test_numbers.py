"""The one strict reader of numbers typed into query strings and forms."""

from __future__ import annotations

import pytest

from playground.numbers import MAX_DIGITS, parse_int
from simcore import ScenarioError


@pytest.mark.parametrize(("raw", "value"), [("0", 0), (" 42 ", 42), ("-7", -7), ("0012", 12)])
def test_it_reads_ascii_whole_numbers(raw: str, value: int) -> None:
    assert parse_int(raw, "n", minimum=-10, maximum=100) == value


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("²", "whole number"),  # "²".isdigit() is True, int("²") raises
        ("١٢", "whole number"),  # int() reads Arabic-Indic digits; we do not
        ("1_000", "whole number"),
        ("+5", "whole number"),
        ("1.5", "whole number"),
        ("", "empty"),
        (None, "empty"),
        ("9" * 5000, "digits"),  # int() refuses past 4,300 digits with a ValueError
        ("9" * (MAX_DIGITS + 1), "digits"),
        ("101", "from 0 to 100"),
        ("-1", "from 0 to 100"),
    ],
)
def test_it_refuses_anything_else_naming_the_field(raw: str | None, problem: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_int(raw, "at", maximum=100)
    assert caught.value.field == "at"
    assert problem in caught.value.message
    assert len(str(caught.value)) < 200  # a 5,000-digit value is not echoed back whole
