"""Front-end details a customer meets (issue 14): favicon and logo, Mass Order's example,
the "returned" note on a charge, confirmation hooks."""

from decimal import Decimal

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from catalog.models import Service
from orders.services import order_staff_cancel, order_staff_partial
from tests.catalog.factories import CategoryFactory, ServiceFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db


def test_favicon_and_logo_are_served(client, customer):
    assert finders.find("favicon.svg")
    assert finders.find("img/logo.svg")
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url.endswith("favicon.svg")
    client.force_login(customer)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in page
    assert 'src="/static/img/logo.svg"' in page
    assert 'src="/static/js/confirm.js"' in page


def test_mass_order_example_is_a_real_enabled_service(client, customer):
    first = CategoryFactory(name="A first", position=0)
    ServiceFactory(category=first, name="Disabled", enabled=False, min_quantity=10)
    real = ServiceFactory(category=first, name="Real", min_quantity=100, max_quantity=500)
    client.force_login(customer)
    page = client.get(reverse("orders:mass")).content.decode()
    example = f"{real.pk} | https://www.instagram.com/username/ | 500"
    assert f'placeholder="{example}"' in page
    assert f"<code>{example}</code>" in page


def test_mass_order_without_services_shows_the_line_format(client, customer):
    client.force_login(customer)
    assert "service ID | link | quantity" in client.get(reverse("orders:mass")).content.decode()


def test_a_returned_charge_is_noted_in_the_orders_list(client):
    user = funded_customer(deposited="10")
    service = ServiceFactory(rate=Decimal("1.20"))
    partial = place(user, service, quantity=1000)
    canceled = place(user, service, link="https://www.instagram.com/other/")
    untouched = place(user, service, link="https://www.instagram.com/third/")
    order_staff_partial(order_id=partial.pk, remains=250, actor=None, reason="short")
    order_staff_cancel(order_id=canceled.pk, actor=None, reason="test")
    client.force_login(user)
    page = client.get(reverse("orders:list")).content.decode()
    assert "returned $0.30" in page
    assert "returned $1.20" in page
    assert page.count("returned $") == 2
    assert untouched.refunded in (None, Decimal(0))


def test_cancel_asks_first_through_the_shared_data_confirm_hook(client):
    user = funded_customer(deposited="10")
    order = place(user, ServiceFactory(cancel=True))
    client.force_login(user)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert f'data-confirm="Cancel order #{order.pk}?' in page


def test_stopping_a_drip_feed_asks_first_through_the_shared_data_confirm_hook(client):
    user = funded_customer(deposited="10")
    order = place(user, ServiceFactory(dripfeed=True), quantity=500,
                  extra={"runs": 4, "interval": 30})  # fmt: skip
    client.force_login(user)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'id="stop-dripfeed"' in page
    assert f'data-confirm="Stop drip-feed order #{order.pk}?' in page  # R-ORD-10


def test_cancelling_a_subscription_asks_first_through_the_shared_data_confirm_hook(client):
    user = funded_customer(deposited="10")
    service = ServiceFactory(type=Service.Type.SUBSCRIPTIONS, min_quantity=50, max_quantity=5000,
                             link_rule="username")  # fmt: skip
    extra = {"username": "brand_account", "min": "500", "max": "500", "delay": "0"}
    order = place(user, service, quantity=None, link="", extra=extra)
    client.force_login(user)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert 'id="cancel-subscription"' in page
    assert f'data-confirm="Cancel subscription #{order.pk}?' in page  # R-ORD-11
