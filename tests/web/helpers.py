from __future__ import annotations

from django.http import HttpResponse

from playground import scenarios
from playground.models import SharedScenario
from simcore import Scenario


def saved(scenario: Scenario) -> str:
    """Save `scenario` as a shared one and return its permalink slug."""
    return scenarios.save(scenario)


def text(response: HttpResponse) -> str:
    return response.content.decode()


def stored(slug: str) -> Scenario:
    from simcore import parse_scenario

    return parse_scenario(SharedScenario.objects.get(slug=slug).source)
