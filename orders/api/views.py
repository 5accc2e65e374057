from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET

from accounts.geo import client_ip
from accounts.selectors import api_key_user
from legal.gate import ordering_refusal
from smmpanel.outage import Limit, rate_limits_exceeded

from .actions import ACTIONS
from .openapi import openapi_document
from .transport import ApiError, answer, error, request_params

TOO_MANY = "Too many requests"
ALLOWED_METHODS = ("GET", "POST")


def _check_rates(request, *, user) -> None:
    """Count the request against the IP's limit and, with a valid key, the account's: one
    Redis round trip (Redis down: counted per process)."""
    limits = [Limit(group="api-ip", key="ip", rate=settings.API_RATE_LIMIT_PER_IP)]
    if user is not None:
        account = f"user:{user.pk}"
        limits.append(
            Limit(
                group="api-account",
                key=lambda _group, _request: account,
                rate=settings.API_RATE_LIMIT_PER_ACCOUNT,
            )
        )
    if rate_limits_exceeded(request, limits):
        raise ApiError(TOO_MANY, status=429)  # R-KEY-4


def _params(request) -> dict[str, str]:
    if request.method not in ALLOWED_METHODS:  # HTTP 200 like every failure (API_V2.md)
        raise ApiError("Incorrect request")
    return request_params(request)


@sensitive_variables("params")
def _handle(request):
    try:
        params = _params(request)
    except ApiError:  # a bad method or body is still counted against the IP (R-KEY-4)
        _check_rates(request, user=None)
        raise
    user = api_key_user(key=params.get("key", ""))
    # Before any error: a wrong key is counted against the IP, so keys cannot be guessed
    # faster than its limit (R-KEY-4); "Too many requests" wins over every other answer.
    _check_rates(request, user=user)
    if user is None:
        raise ApiError("Invalid API key")  # R-KEY-3
    action = ACTIONS.get(params.get("action", ""))
    if action is None:
        raise ApiError("Incorrect request")
    if action is ACTIONS["add"]:  # R-LEG-2, R-AUP-3: Terms to accept, restricted region
        refusal = ordering_refusal(user=user, ip=client_ip(request), by_api_key=True)
        if refusal is not None:
            raise ApiError(refusal.api_message)
    return action(user=user, params=params)


@csrf_exempt  # authenticated by the API key in the request, never by a cookie
@sensitive_post_parameters("key")  # error reports never carry a customer's key
@never_cache
def api_v2(request):
    """One endpoint, ``key`` + ``action`` (API_V2.md); rate limited per IP and per account.
    Always in English, whatever the Accept-Language: its wording is the contract (issue 14)."""
    with translation.override("en"):
        try:
            return answer(_handle(request))
        except ApiError as exc:
            response = error(exc.message, exc.status)
            if request.method not in ALLOWED_METHODS:
                response["Allow"] = ", ".join(ALLOWED_METHODS)
            return response


@require_GET
def openapi(request):
    server = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse(openapi_document(server_url=server))
