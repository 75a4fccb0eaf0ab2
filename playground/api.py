"""The JSON API (`/api/scenarios/<slug>`, `POST /api/run`) and the Prometheus metrics of a
run (`/metrics/<slug>`). Errors are `{"error": {"field", "message", "allowed"}}` with a 4xx
status, never a 500; the helpers raise `ApiError`, which `@answers_errors` turns into its
response.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from playground import caching, prometheus, runner, scenarios
from playground.errors import error_response, reason, scenario_error_response
from playground.numbers import shown
from simcore import Scenario, ScenarioError, parse_scenario

MAX_BODY_BYTES = scenarios.MAX_TEXT_BYTES


class ApiError(Exception):
    """A JSON error answer, raised by the helpers below and returned by `@answers_errors`."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def answers_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except ApiError as err:
            return err.response

    return wrapped


def found_scenario(slug: str) -> Scenario:
    """The stored scenario behind a link (ApiError 409 or 404 if none)."""
    try:
        scenario = scenarios.find(slug)
    except ScenarioError as err:
        raise ApiError(scenario_error_response(err, status=409)) from None
    if scenario is None:
        raise ApiError(error_response("slug", f"no scenario with the link {slug!r}", status=404))
    return scenario


def finished_run(scenario: Scenario) -> runner.RunData:
    """The scenario's run (ApiError 422 if it stopped with an error)."""
    run = runner.run(scenario)
    if run["error"]:
        raise ApiError(error_response("scenario", run["error"], status=422))
    return run


@require_safe
@answers_errors
def metrics_text(request: HttpRequest, slug: str) -> HttpResponse:
    """The client metrics at one point of the run, for Prometheus (see `prometheus`)."""
    run = finished_run(found_scenario(slug))
    try:
        index = prometheus.pick_frame(run["frames"], request.GET)
    except ScenarioError as err:
        return scenario_error_response(err)
    text = prometheus.exposition(run, index, slug)
    return HttpResponse(text, content_type=prometheus.CONTENT_TYPE)


@require_safe
@answers_errors
def api_scenario(request: HttpRequest, slug: str) -> HttpResponse:
    scenario = found_scenario(slug)

    def make() -> HttpResponse:
        try:
            run = finished_run(scenario)
        except ApiError as err:
            return err.response
        body = {
            "slug": slug,
            "name": scenario.name,
            "source": scenarios.source_of(scenario),
            "summary": run["summary"],
        }
        return JsonResponse(body)

    tag = caching.etag("api", runner.key_of(scenario))
    return caching.immutable(request, tag, make, complete=lambda: runner.finished(scenario))


# No CSRF token: the API takes only `Content-Type: application/json`, which a cross-site
# form cannot send (a page's script can, but only after a CORS preflight we never answer).
@csrf_exempt
@require_POST
@answers_errors
def api_run(request: HttpRequest) -> HttpResponse:
    if request.content_type != "application/json":
        return error_response(
            "Content-Type",
            f"must be application/json, got {shown(request.content_type or '')}",
            allowed="application/json",
            status=415,
        )
    body = request.body  # the bytes received, Content-Length or not (chunked)
    if len(body) > MAX_BODY_BYTES:
        message = f"is {len(body)} bytes; the limit is {MAX_BODY_BYTES}"
        return error_response(
            "body", message, allowed=f"at most {MAX_BODY_BYTES} bytes", status=413
        )
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:  # a 5,000-digit number is a ValueError
        return error_response("body", f"is not valid JSON: {reason(err)}")
    except RecursionError:
        return error_response("body", "is nested too deeply")
    try:
        scenario = parse_scenario(data)
    except ScenarioError as err:
        return scenario_error_response(err)
    return JsonResponse(finished_run(scenario)["summary"])
