"""One strict reader for every number a visitor types: query strings and form fields.

`int()` is too generous for input from the web: it takes `"١٢"` (Arabic-Indic digits),
`"1_000"` and `" +5 "`, and raises ValueError past 4,300 digits; `str.isdigit()` is true
for `"²"`, which `int()` then refuses. Here a number is ASCII digits only, at most
`MAX_DIGITS` of them, optionally after a `-`, within the range the caller gives. Anything
else is a `ScenarioError` naming the field, so a view answers it as a 400 (JSON) or shows
it beside the field (forms).
"""

from __future__ import annotations

import re

from simcore import ScenarioError

MAX_DIGITS = 19  # a Java long (retention.ms may be Long.MAX_VALUE)
_NUMBER = re.compile(r"-?[0-9]+", re.ASCII)
SHOWN_CHARS = 40  # of a rejected value, in the message


def is_number(text: str) -> bool:
    """True when `text` (already stripped) is written as a whole number, of any length."""
    return _NUMBER.fullmatch(text) is not None


def parse_int(raw: str | None, field: str, *, minimum: int = 0, maximum: int) -> int:
    """`raw` as an int in [minimum, maximum], or ScenarioError naming `field`."""
    allowed = f"a whole number from {minimum} to {maximum}"
    text = (raw or "").strip(" \t")
    if not text:
        raise ScenarioError(field, "is empty: give a whole number", allowed=allowed)
    if not is_number(text):
        raise ScenarioError(field, f"must be a whole number, got {shown(text)}", allowed=allowed)
    value = to_int(text, field)
    if not minimum <= value <= maximum:
        raise ScenarioError(
            field, f"must be from {minimum} to {maximum}, got {value}", allowed=allowed
        )
    return value


def to_int(text: str, field: str) -> int:
    """A string `is_number` accepted, as an int; ScenarioError past MAX_DIGITS digits."""
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        raise ScenarioError(field, f"has {digits} digits; at most {MAX_DIGITS}")
    return int(text)


def shown(text: str) -> str:
    """A visitor's value as a message quotes it: cut short, escapes visible."""
    cut = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
    return repr(cut)
