"""Middleware of the panel as a whole: malformed forms and Redis outages (issue 9)."""

import logging
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy

from smmpanel.outage import REDIS_DOWN, retry_after_seconds

logger = logging.getLogger(__name__)

FORM_REFUSED = gettext_lazy(
    "The form sent more fields than any page of ours has, so none of it was used. "
    "Reload the page and try again."
)


CSRF_FIELD = "csrfmiddlewaretoken"


def shows_form_refused(view):
    """Marks a view that shows ``request.form_refused`` as a form error on its own page;
    any other view gets FormRefusedMiddleware's page instead and runs not at all."""
    view.shows_form_refused = True
    return view


class FormLimitsMiddleware:
    """A page's POST with more fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (urlencoded or
    multipart) reaches its view as an empty form (only the CSRF token kept) with
    ``request.form_refused`` set, so the page shows a form error instead of Django's bare
    400. Placed before CsrfViewMiddleware. ``/api/`` reads its own fields
    (orders.api.transport) and is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST" and not request.path.startswith("/api/"):
            if request.content_type == "application/x-www-form-urlencoded":
                self._urlencoded(request)
            elif request.content_type == "multipart/form-data":
                self._multipart(request)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, token: str | None) -> None:
        request.form_refused = FORM_REFUSED
        kept = QueryDict(mutable=True)
        if token is not None:
            kept[CSRF_FIELD] = token
        kept._mutable = False
        request._post, request._files = kept, MultiValueDict()

    def _urlencoded(self, request) -> None:
        try:
            request.POST  # noqa: B018 - parse now, to catch the refusal here
        except TooManyFieldsSent:
            fields = parse_qsl(request.body.decode("utf-8", "replace"), max_num_fields=None)
            self._refuse(request, next((v for n, v in fields if n == CSRF_FIELD), None))

    def _multipart(self, request) -> None:
        """Django's own parse (as ``HttpRequest._load_post_and_files`` does it), done here so
        that, when the field limit stops it, the fields read before it are still at hand:
        a browser sends the CSRF token first. The body is streamed, never buffered whole,
        so uploads keep their own limits."""
        if request._read_started:
            return
        parser = MultiPartParser(request.META, request, request.upload_handlers, request.encoding)
        try:
            request._post, request._files = parser.parse()
        except TooManyFieldsSent:
            read = getattr(parser, "_post", None) or QueryDict()
            self._refuse(request, read.get(CSRF_FIELD))
        except (MultiPartParserError, TooManyFilesSent):
            request._mark_post_parse_error()
            raise


class FormRefusedMiddleware:
    """A refused form (FormLimitsMiddleware) sent to a view that cannot show it as a form
    error gets a clear page and does nothing: an empty form must never run an action
    (turn every mail notice off, issue a new API key). After CSRF and messages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(request, "form_refused", "") or getattr(
            view_func, "shows_form_refused", False
        ):
            return None
        return render(request, "form_refused.html", {"message": request.form_refused}, status=400)


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
