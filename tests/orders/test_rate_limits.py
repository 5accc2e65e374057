"""R-AUP-4: order placement on the web is rate-limited per account and per IP."""

import pytest

from orders.models import Order
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import LINK, funded_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_client(client):
    customer = funded_customer(deposited="50")
    client.force_login(customer)
    return client


def test_new_order_submissions_are_limited(customer_client, settings):  # R-AUP-4
    settings.ORDERS_PLACE_RATE_LIMIT = "2/m"
    service = ServiceFactory(min_quantity=10)
    answers = [
        customer_client.post(
            "/orders/new/",
            {"service": service.pk, "link": f"{LINK}{n}/", "quantity": 100},
        )
        for n in range(3)
    ]
    assert [a.status_code for a in answers[:2]] == [302, 302]
    assert answers[2].status_code == 200
    assert "Too many orders in a short time" in answers[2].content.decode()
    assert Order.objects.count() == 2


def test_mass_order_submissions_are_limited(customer_client, settings):  # R-AUP-4
    settings.ORDERS_PLACE_RATE_LIMIT = "1/m"
    service = ServiceFactory(min_quantity=10)
    text = f"{service.pk} | {LINK} | 100"
    customer_client.post("/orders/mass/", {"orders": text})
    second = customer_client.post("/orders/mass/", {"orders": text.replace("someone", "other")})
    assert "Too many orders in a short time" in second.content.decode()
    assert Order.objects.count() == 1
