"""The read cache (smmpanel/readcache.py) never serves a change's old value: a price change, a
disabled service, a new blocked pattern, a revoked key and a suspended account are in force
for the very next request, over HTTP against the live server (which commits, so the cache is
filled and served exactly as in production)."""

import json
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts.services import account_suspend, api_key_issue, api_key_revoke
from catalog.services import custom_rate_set, service_save, service_set_enabled
from orders.models import BlockedPattern, Order
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def api(live_server):
    def call(**fields):
        body = urllib.parse.urlencode(fields).encode()
        with urllib.request.urlopen(f"{live_server.url}/api/v2", body, timeout=30) as response:
            return json.loads(response.read())

    return call


@pytest.fixture
def shop():
    user = funded_customer(deposited="100")
    service = ServiceFactory(rate=Decimal("1.20"))
    return user, service, api_key_issue(user=user)[1]


def _cached_items(stamp: str) -> list[str]:
    client = cache._cache.get_client(write=False)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    return [k.decode() for k in client.scan_iter(match=f"{prefix}:*rc:item:{stamp}:*")]


def _add(api, key, service, n, **fields):
    link = f"https://www.instagram.com/cached_{n}/"
    return api(key=key, action="add", service=service.pk, link=link, quantity=1000, **fields)


def _warm(api, key, user, service) -> None:
    """Two adds: the first fills the caches, the second is served from them."""
    assert "order" in _add(api, key, service, "warm_a")
    assert "order" in _add(api, key, service, "warm_b")
    assert _cached_items("services")
    assert _cached_items(f"rates:{user.pk}")
    assert _cached_items("blocked")
    assert _cached_items("ledger-accounts")
    assert len([k for k in _cached_items("apikey:*") if k.endswith(":user")]) == 1


def _charge(order_id: int) -> Decimal:
    return Order.objects.get(pk=order_id).charge


@pytest.fixture(autouse=True)
def _read_cache_on(settings):
    settings.READ_CACHE_SECONDS = 300


def test_a_price_change_is_charged_on_the_very_next_add(api, shop):  # R-ORD-2, R-CAT-2
    _user, service, key = shop
    _add(api, key, service, "warm_a")
    assert _charge(_add(api, key, service, "warm_b")["order"]) == Decimal("1.20000")
    assert _cached_items("services")
    service.rate = Decimal("2.50")
    service_save(service=service)
    assert _charge(_add(api, key, service, "after_price")["order"]) == Decimal("2.50000")


def test_a_custom_rate_is_charged_on_the_very_next_add(api, shop):  # R-CAT-6
    user, service, key = shop
    _add(api, key, service, "warm_a")
    assert _charge(_add(api, key, service, "warm_b")["order"]) == Decimal("1.20000")
    assert _cached_items(f"rates:{user.pk}")
    custom_rate_set(user=user, service=service, rate=Decimal("0.70"))
    assert _charge(_add(api, key, service, "custom")["order"]) == Decimal("0.70000")
    custom_rate_set(user=user, service=service, rate=Decimal("0.60"))
    assert _charge(_add(api, key, service, "custom_2")["order"]) == Decimal("0.60000")


def test_a_disabled_service_refuses_the_very_next_add(api, shop):  # R-ORD-3
    user, service, key = shop
    _warm(api, key, user, service)
    service_set_enabled(service=service, enabled=False)
    assert _add(api, key, service, "disabled") == {"error": "Incorrect service ID"}
    service_set_enabled(service=service, enabled=True)
    assert "order" in _add(api, key, service, "enabled_again")


def test_a_new_blocked_pattern_refuses_the_very_next_add(api, shop):  # R-AUP-1
    user, service, key = shop
    _warm(api, key, user, service)
    pattern = BlockedPattern.objects.create(kind=BlockedPattern.Kind.KEYWORD, pattern="forbidden")
    assert _add(api, key, service, "forbidden_1") == {"error": "Incorrect link"}
    pattern.enabled = False
    pattern.save()  # as the admin's list does
    assert "order" in _add(api, key, service, "forbidden_2")


def test_a_revoked_key_is_refused_on_the_very_next_request(api, shop):  # R-KEY-2
    user, service, key = shop
    _warm(api, key, user, service)
    api_key_revoke(user=user)
    assert api(key=key, action="balance") == {"error": "Invalid API key"}
    assert _add(api, key, service, "revoked") == {"error": "Invalid API key"}


def test_a_regenerated_key_stops_the_old_one_at_once(api, shop):  # R-KEY-2
    user, service, key = shop
    _warm(api, key, user, service)
    new_key = api_key_issue(user=user)[1]
    assert api(key=key, action="balance") == {"error": "Invalid API key"}
    assert "order" in _add(api, new_key, service, "new_key")


def test_a_suspended_account_is_refused_on_the_very_next_request(api, shop):  # R-KEY-3, R-ACC-5
    user, service, key = shop
    _warm(api, key, user, service)
    account_suspend(user=user, reason="investigation", actor=StaffFactory())
    assert _add(api, key, service, "suspended") == {"error": "Invalid API key"}
    assert api(key=key, action="balance") == {"error": "Invalid API key"}


def test_an_account_hold_is_in_force_on_the_very_next_request_and_its_end_too(
    api, shop
):  # R-KEY-3, R-AUP-2
    from legal.services import account_hold, hold_release

    user, service, key = shop
    _warm(api, key, user, service)
    staff = StaffFactory()
    hold = account_hold(user=user, reason="investigation", actor=staff)
    assert api(key=key, action="balance") == {"error": "Invalid API key"}
    hold_release(hold=hold, note="nothing found", actor=staff)
    assert "balance" in api(key=key, action="balance")


def test_a_status_saved_outside_the_services_is_in_force_too(api, shop):  # R-KEY-3
    user, service, key = shop
    _warm(api, key, user, service)
    user.status = user.Status.CLOSED
    user.save()  # the admin, a shell: the model's signal bumps the stamp
    assert api(key=key, action="balance") == {"error": "Invalid API key"}


def test_orders_placed_from_the_cache_are_charged_as_without_it(api, shop):  # R-BAL-3
    from billing.selectors import ledger_verify

    _user, service, key = shop
    for n in range(5):
        assert "order" in _add(api, key, service, f"ledger_{n}")
    assert ledger_verify().ok


def test_material_terms_are_asked_for_on_the_very_next_add(api, shop):  # R-LEG-2
    from legal.gate import TERMS_API_ERROR
    from legal.services import document_publish

    user, service, key = shop
    _warm(api, key, user, service)
    assert _cached_items("legal-terms")
    document_publish(kind="terms", title="Terms", body="New terms.", material=True)
    assert _add(api, key, service, "terms_now") == {"error": TERMS_API_ERROR}


def test_material_terms_published_for_later_take_effect_on_time(api, shop):  # R-LEG-2
    import time
    from datetime import timedelta

    from django.utils import timezone

    from legal.gate import TERMS_API_ERROR
    from legal.services import document_publish

    user, service, key = shop
    _warm(api, key, user, service)
    effective_at = timezone.now() + timedelta(seconds=2)
    document_publish(kind="terms", title="Terms", body="Later terms.", material=True,
                     effective_at=effective_at)  # fmt: skip
    assert "order" in _add(api, key, service, "terms_before")  # cached, not yet in effect
    time.sleep(max(0.0, (effective_at - timezone.now()).total_seconds()) + 0.1)
    assert _add(api, key, service, "terms_after") == {"error": TERMS_API_ERROR}
