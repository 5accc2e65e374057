"""How API v2 requests arrive and answers leave.

Clients in the wild send form-encoded POSTs, JSON bodies and GET queries; all three
are accepted. Every answer is JSON; a failure is ``{"error": "<message>"}``.
"""

import json

from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

MAX_BODY = 1024 * 1024


class ApiError(Exception):
    """A failure answered as ``{"error": message}`` with the contract's wording."""

    def __init__(self, message: str, status: int = 200):
        super().__init__(message)
        self.message = message
        self.status = status


def _as_text(value) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        return str(value)
    if isinstance(value, list) and all(
        isinstance(v, int | str) and not isinstance(v, bool) for v in value
    ):
        return ",".join(str(v) for v in value)
    return None


def request_params(request) -> dict[str, str]:
    """The request's fields as text: the query string, overridden by the body."""
    params = {key: request.GET[key] for key in request.GET}
    if request.method != "POST":
        return params
    if request.content_type == "application/json":
        if len(request.body) > MAX_BODY:
            raise ApiError("Incorrect request")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError("Incorrect request") from exc
        if not isinstance(body, dict):
            raise ApiError("Incorrect request")
        for key, value in body.items():
            text = _as_text(value)
            if text is None:
                raise ApiError("Incorrect request")
            params[str(key)] = text
    else:
        try:
            params.update({key: request.POST[key] for key in request.POST})
        except MultiPartParserError as exc:  # a multipart body without a valid boundary
            raise ApiError("Incorrect request") from exc
    return params


def answer(payload, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, safe=False)


def error(message: str, status: int = 200) -> JsonResponse:
    return answer({"error": message}, status=status)
