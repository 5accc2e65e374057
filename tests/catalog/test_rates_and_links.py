"""Customer rates (R-CAT-6) and link rules (R-CAT-1, R-ORD-3)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError

from catalog.exceptions import LinkRejected
from catalog.links import LinkRule
from catalog.models import CustomRate
from catalog.selectors import (
    rate_book_for_user,
    service_get_orderable,
    service_link_check,
    service_rate_for_user,
)
from catalog.services import custom_rate_set
from tests.catalog.factories import ServiceFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def service():
    return ServiceFactory(rate=Decimal("2.00000"))


def test_visitors_and_plain_customers_pay_the_base_rate(service, customer):  # R-CAT-6
    assert service_rate_for_user(user=AnonymousUser(), service=service) == Decimal("2.00000")
    assert service_rate_for_user(user=None, service=service) == Decimal("2.00000")
    assert service_rate_for_user(user=customer, service=service) == Decimal("2.00000")


def test_custom_rates_per_service_and_discounts(service, customer):  # R-CAT-6
    other = ServiceFactory(rate=Decimal("3.33333"))
    third = ServiceFactory(rate=Decimal("1.00000"))
    custom_rate_set(user=customer, discount_percent=Decimal("10"))
    custom_rate_set(user=customer, service=service, rate=Decimal("1.50"))
    custom_rate_set(user=customer, service=other, discount_percent=Decimal("50"))

    assert service_rate_for_user(user=customer, service=service) == Decimal("1.50000")
    assert service_rate_for_user(user=customer, service=other) == Decimal("1.66667")
    assert service_rate_for_user(user=customer, service=third) == Decimal("0.90000")
    book = rate_book_for_user(user=customer)
    assert [book.rate(s) for s in (service, other, third)] == [
        Decimal("1.50000"), Decimal("1.66667"), Decimal("0.90000"),
    ]  # fmt: skip
    stranger = UserFactory()
    assert service_rate_for_user(user=stranger, service=service) == Decimal("2.00000")


def test_setting_a_custom_rate_again_replaces_it(service, customer):
    custom_rate_set(user=customer, service=service, rate=Decimal("1.50"))
    custom_rate_set(user=customer, service=service, discount_percent=Decimal("25"))
    assert CustomRate.objects.filter(user=customer).count() == 1
    assert service_rate_for_user(user=customer, service=service) == Decimal("1.50000")


def test_the_database_refuses_inconsistent_custom_rates(service, customer):
    with pytest.raises(IntegrityError):
        CustomRate.objects.create(
            user=customer, service=service, rate=Decimal("1"), discount_percent=Decimal("5")
        )


def test_disabled_services_cannot_be_ordered(service):
    assert service_get_orderable(service_id=service.pk) == service
    service.enabled, service.disabled_reason = False, "staff"
    service.save()
    with pytest.raises(type(service).DoesNotExist):
        service_get_orderable(service_id=service.pk)


@pytest.mark.parametrize(
    ("rule", "good", "bad"),
    [
        (LinkRule.URL, "https://example.com/page?x=1", "example.com"),
        (LinkRule.INSTAGRAM, "https://www.instagram.com/p/Cx1/", "https://www.tiktok.com/@a"),
        (LinkRule.TIKTOK, "https://vm.tiktok.com/ZM1/", "https://instagram.com/a"),
        (LinkRule.YOUTUBE, "https://youtu.be/dQw4w9WgXcQ", "https://vimeo.com/1"),
        (LinkRule.TELEGRAM, "https://t.me/channel/12", "https://telegram.org/"),
        (LinkRule.X, "https://x.com/acme/status/1", "https://xx.com/acme"),
        (LinkRule.FACEBOOK, "https://www.facebook.com/acme", "https://face.book/acme"),
        (LinkRule.USERNAME, "@acme.shop", "https://instagram.com/acme"),
    ],
)
def test_link_rules(rule, good, bad):  # R-CAT-1, R-ORD-3
    service = ServiceFactory(link_rule=rule)
    assert service_link_check(service=service, link=f"  {good} ") == good
    with pytest.raises(LinkRejected) as refused:
        service_link_check(service=service, link=bad)
    assert refused.value.message.startswith("This service needs a")
    assert refused.value.api_error == "Incorrect link"


def test_custom_link_pattern_and_hostile_links():
    service = ServiceFactory(link_rule=LinkRule.CUSTOM, link_pattern=r"https://shop\.example/\d+")
    assert service.link_is_valid("https://shop.example/42")
    assert not service.link_is_valid("https://shop.example/42/extra")
    assert not ServiceFactory(link_rule=LinkRule.URL).link_is_valid("https://a.com/" + "x" * 3000)
    assert not ServiceFactory(link_rule=LinkRule.URL).link_is_valid("https://a.com/x y")
