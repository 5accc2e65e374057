"""Middleware of the panel as a whole: malformed forms and Redis outages (issue 9)."""

import logging
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict

from smmpanel.outage import REDIS_DOWN, retry_after_seconds

logger = logging.getLogger(__name__)

FORM_REFUSED = (
    "The form sent more fields than any page of ours has, so none of it was used. "
    "Reload the page and try again."
)


class FormLimitsMiddleware:
    """A page's POST with more fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` reaches its view
    as an empty form (only the CSRF token kept) with ``request.form_refused`` set, so the
    page shows a form error instead of Django's bare 400. Placed before CsrfViewMiddleware.
    ``/api/`` reads its own fields (orders.api.transport) and is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            request.method == "POST"
            and request.content_type == "application/x-www-form-urlencoded"
            and not request.path.startswith("/api/")
        ):
            try:
                request.POST  # noqa: B018 - parse now, to catch the refusal here
            except TooManyFieldsSent:
                request.form_refused = FORM_REFUSED
                fields = parse_qsl(request.body.decode("utf-8", "replace"), max_num_fields=None)
                kept = QueryDict(mutable=True)
                for name, value in fields:
                    if name == "csrfmiddlewaretoken":
                        kept[name] = value
                        break
                kept._mutable = False
                request._post, request._files = kept, MultiValueDict()
        return self.get_response(request)


class RedisOutageMiddleware:
    """The last line of the Redis-outage policy (smmpanel/outage.py): an unreachable cache
    or broker answers 503 with ``Retry-After``: JSON on ``/api/``, a clear page elsewhere
    (sign-in then fails closed: its rate limits cannot be checked)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, REDIS_DOWN):
            return None
        logger.error("Redis unreachable on %s %s: %s", request.method, request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"error": "Too many requests"}, status=503)
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(retry_after_seconds())
        return response
