"""How API v2 requests arrive and answers leave.

Clients in the wild send form-encoded POSTs, JSON bodies and GET queries; all three
are accepted. Every answer is JSON; a failure is ``{"error": "<message>"}``.
"""

import json

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError

MAX_BODY = 1024 * 1024
# A JSON body is one flat object; more fields than this is not a request (the form and query
# transports have Django's DATA_UPLOAD_MAX_NUMBER_FIELDS).
MAX_JSON_FIELDS = 1000
MAX_KEY_LENGTH = 64


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


def _storable(text: str) -> bool:
    """Whether Postgres can store ``text``: no NUL byte, no lone surrogate (from JSON)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def request_params(request) -> dict[str, str]:
    """The request's fields as text: the query string, overridden by the body.

    Anything that is not a request (NUL bytes, unencodable text, too many fields, a body
    too big or nested too deep, field names longer than ``MAX_KEY_LENGTH``) raises
    ``ApiError("Incorrect request")``: the contract's error, never a 500 or an HTML page.
    """
    try:
        params = _read_params(request)
    except (TooManyFieldsSent, RequestDataTooBig, MultiPartParserError) as exc:
        raise ApiError("Incorrect request") from exc
    if any(
        len(key) > MAX_KEY_LENGTH or not _storable(key) or not _storable(value)
        for key, value in params.items()
    ):
        raise ApiError("Incorrect request")
    return params


def _read_params(request) -> dict[str, str]:
    params = {key: request.GET[key] for key in request.GET}
    if request.method != "POST":
        return params
    if request.content_type == "application/json":
        if len(request.body) > MAX_BODY:
            raise ApiError("Incorrect request")
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            # RecursionError: a body nested thousands of levels deep.
            raise ApiError("Incorrect request") from exc
        if not isinstance(body, dict) or len(body) > MAX_JSON_FIELDS:
            raise ApiError("Incorrect request")
        for key, value in body.items():
            text = _as_text(value)
            if text is None:
                raise ApiError("Incorrect request")
            params[str(key)] = text
    else:
        # MultiPartParserError (a multipart body without a valid boundary) is caught above.
        params.update({key: request.POST[key] for key in request.POST})
    return params


def answer(payload, status: int = 200) -> JsonResponse:
    return JsonResponse(payload, status=status, safe=False)


def error(message: str, status: int = 200) -> JsonResponse:
    return answer({"error": message}, status=status)
