"""R-KEY-4: the API's per-IP and per-account limits are counted in one Redis round trip
(``smmpanel.outage.rate_limits_exceeded``, issue 15), on django-ratelimit's own counters."""

import uuid

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django_ratelimit.core import get_usage
from redis.client import Pipeline

from smmpanel import outage

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    settings.API_RATE_LIMIT_PER_IP = "50/m"
    settings.API_RATE_LIMIT_PER_ACCOUNT = "20/m"
    return settings


def _usage(group: str, key, rate: str) -> int:
    request = RequestFactory().get("/api/v2")  # REMOTE_ADDR 127.0.0.1, as the test client's
    return get_usage(request, group=group, key=key, rate=rate, increment=False)["count"]


def test_both_limits_are_one_pipeline_on_django_ratelimits_counters(
    call, api_key, api_user, limits, monkeypatch
):  # R-KEY-4
    executed = []
    original = Pipeline.execute

    def execute(self, *args, **kwargs):
        executed.append([command[0][0] for command in self.command_stack])
        return original(self, *args, **kwargs)

    def not_called(*args, **kwargs):
        raise AssertionError("counted one limit at a time")

    monkeypatch.setattr(Pipeline, "execute", execute)
    monkeypatch.setattr(outage, "is_ratelimited", not_called)
    for _ in range(3):
        assert call(key=api_key, action="nope") == (200, {"error": "Incorrect request"})
    assert executed == [["SET", "INCRBY", "SET", "INCRBY"]] * 3  # one round trip per request
    # The same keys and windows as django-ratelimit's: its counters read what we counted.
    assert _usage("api-ip", "ip", "50/m") == 3
    account = f"user:{api_user.pk}"
    assert _usage("api-account", lambda _group, _request: account, "20/m") == 3
    client = cache._cache.get_client(write=True)
    for key in client.scan_iter(match=f"{cache.key_prefix}:*:rl:*"):
        assert 0 < client.ttl(key) <= 65  # the window (60 s) and django-ratelimit's fudge


@pytest.mark.parametrize("key", ["", "f" * 32])
def test_a_wrong_key_is_counted_against_the_ip(call, settings, key):  # R-KEY-4, R-KEY-3
    settings.API_RATE_LIMIT_PER_IP = "3/m"
    answers = [call(key=key, action="balance") for _ in range(5)]
    assert (
        answers
        == [(200, {"error": "Invalid API key"})] * 3 + [(429, {"error": "Too many requests"})] * 2
    )


def test_bad_methods_and_bodies_are_counted_against_the_ip(client, call, settings):  # R-KEY-4
    settings.API_RATE_LIMIT_PER_IP = "2/m"
    assert client.put("/api/v2").json() == {"error": "Incorrect request"}  # HTTP 200 (issue 9)
    broken = client.post("/api/v2", "{not json", content_type="application/json")
    assert broken.json() == {"error": "Incorrect request"}
    assert call(key="x", action="balance") == (429, {"error": "Too many requests"})
    assert client.put("/api/v2").status_code == 429


def test_a_wrong_key_is_not_counted_against_any_account(call, api_key, settings):  # R-KEY-4
    settings.API_RATE_LIMIT_PER_ACCOUNT = "2/m"
    settings.API_RATE_LIMIT_PER_IP = "1000/m"
    for _ in range(3):
        assert call(key="x", action="balance") == (200, {"error": "Invalid API key"})
    answers = [call(key=api_key, action="nope")[0] for _ in range(3)]
    assert answers == [200, 200, 429]


def test_without_redis_django_ratelimit_counts_them(call, api_key, settings):  # R-KEY-4
    # The development default (no REDIS_URL) is LocMem: django-ratelimit's is_ratelimited.
    location = f"rate-limits-{uuid.uuid4().hex}"  # LocMem's data outlives the settings change
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": location,
        }
    }
    settings.API_RATE_LIMIT_PER_ACCOUNT = "2/m"
    settings.API_RATE_LIMIT_PER_IP = "3/m"
    answers = [call(key=api_key, action="nope") for _ in range(3)]
    assert [status for status, _ in answers] == [200, 200, 429]
    assert call(key="x", action="nope") == (429, {"error": "Too many requests"})  # the IP's 4th
