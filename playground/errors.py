"""Errors as the web shows them: every JSON error comes from `error_response`.

Shape: `{"error": {"field": ..., "message": ..., "allowed": ...}}`, status 400 unless said.
`field` is a path into the scenario (`consumers[0].config.auto.commit.interval.ms`) or the
name of the request field at fault (`body`, `yaml`, `slug`, `at`, `Content-Type`). Pages
show the same payload with `error_page` (template `playground/error.html`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from simcore import ScenarioError

JSON_PATHS = ("/api/", "/metrics/")  # answer errors as JSON, everything else as a page


def error_payload(field: str, message: str, allowed: str | None = None) -> dict[str, Any]:
    return {"field": field, "message": message, "allowed": allowed}


def scenario_error_payload(err: ScenarioError) -> dict[str, Any]:
    message = err.message
    if err.suggestion and f"'{err.suggestion}'" not in message:
        message += f"; did you mean '{err.suggestion}'?"
    return error_payload(err.field, message, err.allowed)


def error_response(
    field: str, message: str, allowed: str | None = None, *, status: int = 400
) -> JsonResponse:
    return JsonResponse({"error": error_payload(field, message, allowed)}, status=status)


def scenario_error_response(err: ScenarioError, *, status: int = 400) -> JsonResponse:
    return JsonResponse({"error": scenario_error_payload(err)}, status=status)


def reason(err: Exception) -> str:
    """An exception's message without Python's advice on raising its integer digit limit."""
    return str(err).split("; use sys.", 1)[0]


def error_page(request: HttpRequest, payload: dict[str, Any], *, status: int = 400) -> HttpResponse:
    """A page saying what was wrong with the request, field first; the htmx error banner
    (static/js/request-errors.js) reads the same text from `data-error-message`."""
    context = {"error": payload, "status": status}
    return render(request, "playground/error.html", context, status=status)


def too_big_payload(limit: int) -> dict[str, Any]:
    return error_payload(
        "body",
        f"is over {limit // 1000} kB, the most this site reads in one request"
        " (a scenario is at most 100 kB)",
        allowed=f"at most {limit} bytes",
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's handler400: a request Django refused to read (over DATA_UPLOAD_MAX_MEMORY_SIZE
    or DATA_UPLOAD_MAX_NUMBER_FIELDS, an unknown Host) explained instead of a bare 400."""
    status = 400
    if isinstance(exception, RequestDataTooBig):
        payload, status = too_big_payload(settings.DATA_UPLOAD_MAX_MEMORY_SIZE), 413
    elif isinstance(exception, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        payload = error_payload("body", f"has more than {limit} form fields")
    else:
        payload = error_payload("request", "could not be read", allowed=None)
    if request.path.startswith(JSON_PATHS):
        return JsonResponse({"error": payload}, status=status)
    return error_page(request, payload, status=status)
