"""Issue 9, item 3: what still reaches an unreachable Redis answers 503 with Retry-After:
JSON on the API (never an HTML page), a clear page elsewhere (smmpanel/middleware.py)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError

from smmpanel.middleware import RedisOutageMiddleware

pytestmark = pytest.mark.django_db


@pytest.fixture
def middleware():
    return RedisOutageMiddleware(lambda request: HttpResponse("ok"))


def _request(path):
    request = RequestFactory().post(path)
    request.user = AnonymousUser()
    return request


@pytest.mark.parametrize("error", [RedisConnectionError("refused"), OperationalError("down")])
def test_the_api_gets_json_with_retry_after(middleware, error):
    response = middleware.process_exception(_request("/api/v2"), error)
    assert (response.status_code, response["Retry-After"]) == (503, "30")
    assert response["Content-Type"] == "application/json"
    assert response.content == b'{"error": "Too many requests"}'


def test_pages_get_a_clear_page(middleware):
    response = middleware.process_exception(_request("/orders/new/"), RedisConnectionError())
    assert response.status_code == 503
    assert "Back in a moment" in response.content.decode()


def test_other_errors_are_left_alone(middleware):
    assert middleware.process_exception(_request("/api/v2"), ValueError("x")) is None
