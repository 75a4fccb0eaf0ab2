"""Template filters for counts a reader reads at a glance (`{% load counts %}`)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def grouped(value: Any) -> Any:
    """A count with its thousands grouped (``110039`` → ``110,039``), as the rest of the
    page writes them: a production-shaped run counts hundreds of thousands of records.
    Anything that is not a whole number is shown as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
