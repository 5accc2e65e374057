"""The public services and updates pages."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Category, Service
from catalog.services import custom_rate_set, service_save
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    insta = CategoryFactory(name="Instagram Followers", platform=Category.Platform.INSTAGRAM)
    tiktok = CategoryFactory(name="TikTok Likes", platform=Category.Platform.TIKTOK)
    return {
        "followers": ServiceFactory(
            category=insta, name="Instagram Followers [Refill 30 days]", rate=Decimal("2.00"),
            refill=True, refill_days=30, description="Slow and steady.",
        ),
        "cheap": ServiceFactory(category=insta, name="Instagram Followers [Cheap]", dripfeed=True),
        "likes": ServiceFactory(category=tiktok, name="TikTok Likes [Fast]", link_rule="tiktok"),
        "hidden": ServiceFactory(
            category=tiktok, name="TikTok Likes [Old]", enabled=False, disabled_reason="staff"
        ),
    }  # fmt: skip


def _names(response) -> list[str]:
    return re.findall(r'<span class="service-name">([^<]+)</span>', response.content.decode())


def test_visitors_see_enabled_services_by_category_at_base_rates(client, catalog):
    response = client.get("/services/")
    assert response.status_code == 200
    html = response.content.decode()
    assert _names(response) == [
        "Instagram Followers [Refill 30 days]",
        "Instagram Followers [Cheap]",
        "TikTok Likes [Fast]",
    ]
    assert html.index('<h2 class="h5">Instagram Followers') < html.index("TikTok Likes</h2>")
    assert "$2.00" in html
    assert "Refill 30 d" in html
    assert "Slow and steady." in html
    assert "Order</a>" not in html


def test_customers_see_their_own_rates(client, customer, catalog):  # R-CAT-6
    custom_rate_set(user=customer, discount_percent=Decimal("25"))
    client.force_login(customer)
    html = client.get("/services/").content.decode()
    assert "$1.50" in html
    assert "$2.00" not in html
    assert f"?service={catalog['followers'].pk}" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=cheap", ["Instagram Followers [Cheap]"]),
        ("q=tiktok", ["TikTok Likes [Fast]"]),
        ("platform=tiktok", ["TikTok Likes [Fast]"]),
        ("refill=on", ["Instagram Followers [Refill 30 days]"]),
        ("dripfeed=on&platform=instagram", ["Instagram Followers [Cheap]"]),
        ("q=nothing-like-this", []),
    ],
)
def test_search_and_filters_work_on_the_server(client, catalog, query, expected):
    response = client.get(f"/services/?{query}")
    assert _names(response) == expected


def test_search_by_id_and_category_filter(client, catalog):
    likes = catalog["likes"]
    assert _names(client.get(f"/services/?q={likes.pk}")) == [likes.name]
    category = catalog["followers"].category_id
    assert len(_names(client.get(f"/services/?category={category}"))) == 2
    assert len(_names(client.get("/services/?category=nonsense"))) == 3  # bad input: no filter


def _bulk_services(count: int) -> None:
    categories = [
        CategoryFactory(name=f"Platform {n}", platform=Category.Platform.choices[n % 7][0])
        for n in range(20)
    ]
    Service.objects.bulk_create(
        Service(
            category=categories[n % 20], name=f"Service number {n}", rate=Decimal("1.23"),
            min_quantity=10, max_quantity=1000, description="Words " * 20,
            refill=n % 2 == 0, refill_days=30 if n % 2 == 0 else 0, dripfeed=n % 3 == 0,
        )
        for n in range(count)
    )  # fmt: skip


def _queries(client, url="/services/") -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_services_page_takes_a_constant_number_of_queries(client, customer):
    custom_rate_set(user=customer, discount_percent=Decimal("5"))
    _bulk_services(20)
    anonymous_small = _queries(client)
    client.force_login(customer)
    customer_small = _queries(client)

    _bulk_services(1980)
    assert Service.objects.count() == 2000
    customer_large = _queries(client)
    client.logout()
    anonymous_large = _queries(client)
    filtered_large = _queries(client, "/services/?q=number&refill=on&platform=instagram")

    assert anonymous_large == anonymous_small == filtered_large == 2  # categories, services
    # + session, user, custom rates, navbar balance, unread ticket replies
    assert customer_large == customer_small <= 7
    assert len(_names(client.get("/services/"))) == 2000


def test_the_updates_page_lists_additions_price_changes_and_disablements(client):
    service = service_save(service=ServiceFactory.build(category=CategoryFactory(), rate="1.00"))
    service.rate = Decimal("1.50")
    service_save(service=service)
    service.enabled = False
    service_save(service=service)

    html = client.get("/services/updates/").content.decode()
    assert html.count(service.name) == 3
    for label in ("New service", "Price increased", "Disabled"):
        assert label in html
    assert "$1.00 → $1.50" in html


def test_the_updates_page_is_paginated(client):
    category = CategoryFactory()
    for n in range(55):
        service_save(service=ServiceFactory.build(category=category, name=f"S{n}"))
    first = client.get("/services/updates/").content.decode()
    assert "Page 1 of 2" in first
    second = client.get("/services/updates/?page=2").content.decode()
    assert second.count('text-bg-primary">New service</span>') == 5


def test_no_refill_shown_when_every_route_refuses_refills(client, customer, catalog):
    # R-ORD-13, issue 16: a route whose provider answered `refill` with a server error is
    # marked; a service whose every route is marked offers no refill (page, filter, API).
    from accounts.services import api_key_issue
    from orders.models import RefillUnsupported
    from tests.catalog.factories import ProviderServiceFactory

    followers = catalog["followers"]
    first, second = ProviderServiceFactory.create_batch(2, service=followers)
    ProviderServiceFactory(service=followers, enabled=False)  # a route switched off: not used
    _, key = api_key_issue(user=customer)

    def shown() -> tuple[bool, bool, bool]:
        html = client.get("/services/").content.decode()
        api = client.post("/api/v2", {"key": key, "action": "services"}).json()
        return (
            ">Refill 30 d<" in html,  # the label, not the name
            followers.name in _names(client.get("/services/?refill=on")),
            next(s["refill"] for s in api if s["service"] == followers.pk),
        )

    RefillUnsupported.objects.create(provider_service=first, detail="HTTP 502")
    assert shown() == (True, True, True)  # the second route still refills
    RefillUnsupported.objects.create(provider_service=second, detail="HTTP 500")
    assert shown() == (False, False, False)
    assert _queries(client) == 2  # still one query for the services
    RefillUnsupported.objects.filter(provider_service=second).delete()  # staff try it again
    assert shown() == (True, True, True)
