import pytest
from django.test import override_settings

from accounts.services import api_key_issue
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_missing_or_unknown_key_is_invalid(call, transport):  # R-KEY-3
    assert call(transport, action="balance") == (200, {"error": "Invalid API key"})
    assert call(transport, key="f" * 32, action="balance") == (200, {"error": "Invalid API key"})


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_unknown_action_is_an_incorrect_request(call, api_key, transport):
    assert call(transport, key=api_key, action="nope") == (200, {"error": "Incorrect request"})
    assert call(transport, key=api_key) == (200, {"error": "Incorrect request"})


def test_malformed_json_is_an_incorrect_request(client, api_key):
    response = client.post("/api/v2", "{not json", content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"error": "Incorrect request"}
    response = client.post("/api/v2", "[1, 2]", content_type="application/json")
    assert response.json() == {"error": "Incorrect request"}


def test_broken_multipart_body_is_an_incorrect_request(client):
    response = client.generic("POST", "/api/v2", b"key=x", content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.json() == {"error": "Incorrect request"}


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"])
def test_other_methods_are_an_incorrect_request_with_http_200(client, api_key, method):
    # API_V2.md: every failure is HTTP 200 with the error body (issue 9; was HTTP 405).
    body = f"key={api_key}&action=balance"
    response = client.generic(method, "/api/v2", body, "application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, POST"
    assert response.json() == {"error": "Incorrect request"}  # R-ORD-3


def test_suspended_account_key_is_refused_not_crashed(call, api_user, api_key):  # R-KEY-3
    api_user.status = api_user.Status.SUSPENDED
    api_user.save()
    assert call(key=api_key, action="balance") == (200, {"error": "Invalid API key"})


def test_csrf_is_not_required_for_the_api(api_key):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/api/v2", {"key": api_key, "action": "nope"})
    assert response.json() == {"error": "Incorrect request"}


@override_settings(API_RATE_LIMIT_PER_ACCOUNT="5/m", API_RATE_LIMIT_PER_IP="1000/m")
def test_one_accounts_flood_does_not_limit_another(call, api_key):  # R-KEY-4
    other_key = api_key_issue(user=UserFactory())[1]
    answers = [call(key=api_key, action="nope") for _ in range(8)]
    assert answers[:5] == [(200, {"error": "Incorrect request"})] * 5
    assert answers[5:] == [(429, {"error": "Too many requests"})] * 3
    assert call(key=other_key, action="nope") == (200, {"error": "Incorrect request"})


@override_settings(API_RATE_LIMIT_PER_IP="3/m")
def test_requests_are_limited_per_ip(call):  # R-KEY-4, R-AUP-4
    answers = [call(key="x", action="balance") for _ in range(5)]
    assert answers[-1] == (429, {"error": "Too many requests"})


def test_openapi_description_is_served(client):
    document = client.get("/api/v2/openapi.json").json()
    assert document["openapi"].startswith("3.")
    post = document["paths"]["/api/v2"]["post"]
    assert set(post["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "application/json",
    }
    assert "Error" in document["components"]["schemas"]
