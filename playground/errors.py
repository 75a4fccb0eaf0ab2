"""Errors as the web shows them: every JSON error comes from `error_response`.

Shape: `{"error": {"field": ..., "message": ..., "allowed": ...}}`, status 400 unless said.
`field` is a path into the scenario (`consumers[0].config.auto.commit.interval.ms`) or the
name of the request field at fault (`body`, `yaml`, `slug`).
"""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

from simcore import ScenarioError


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
