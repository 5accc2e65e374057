from decimal import Decimal

import pytest

from billing.money import money_text as money
from catalog.services import custom_rate_set
from tests.catalog.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_money_strings_keep_the_ledger_precision_without_padding():
    assert money(Decimal("0.9")) == "0.90"
    assert money(Decimal("0.27819")) == "0.27819"
    assert money(Decimal("100")) == "100.00"
    assert money(Decimal("1.234567")) == "1.23457"
    assert money(Decimal("4.03200")) == "4.032"


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_services_lists_enabled_services_in_contract_shape(call, api_key, transport):
    service = ServiceFactory(rate=Decimal("0.90"), min_quantity=50, max_quantity=10000)
    ServiceFactory(enabled=False)
    status, body = call(transport, key=api_key, action="services")
    assert status == 200
    assert len(body) == 1
    row = body[0]
    assert row["service"] == service.pk
    assert row["name"] == service.name
    assert row["type"] == service.type
    assert row["category"] == service.category.name
    assert (row["rate"], row["min"], row["max"]) == ("0.90", "50", "10000")
    for flag in ("refill", "cancel", "dripfeed"):
        assert isinstance(row[flag], bool)


def test_services_are_at_the_callers_own_rate(call, api_user, api_key):  # R-CAT-6
    service = ServiceFactory(rate=Decimal("2.00"))
    custom_rate_set(user=api_user, service=service, rate=Decimal("1.50"))
    _, body = call(key=api_key, action="services")
    assert body[0]["rate"] == "1.50"
