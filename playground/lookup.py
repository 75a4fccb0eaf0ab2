"""Finding what a link names, and answering with a redirect: the helpers every view shares.

They raise instead of returning an error response: a link that names nothing is Django's
404 page (`Http404`).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from playground import scenarios
from simcore import Scenario, ScenarioError


def scenario_or_404(slug: str) -> Scenario:
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:  # stored long ago, rejected by today's simcore
        raise Http404(f"This scenario no longer validates: {err}") from None
    if scenario is None:
        raise Http404(f"No scenario with the link {slug!r}")
    return scenario


def is_htmx(request: HttpRequest) -> bool:
    """Whether htmx sent the request (django-htmx's middleware sets ``request.htmx``)."""
    return bool(getattr(request, "htmx", False))


def redirect(request: HttpRequest, url: str) -> HttpResponse:
    if is_htmx(request):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url, status=303)


def permalink(slug: str, compare: str | None = None) -> str:
    url = reverse("scenario", args=[slug])
    return f"{url}?compare={compare}" if compare else url
