"""Factories and helpers for orders; other apps' tests may use them.

Orders that matter for money are placed through ``order_place`` (``place``), so the ledger
holds their charge. ``OrderFactory`` writes a bare row, for pages that only list orders.
"""

from decimal import Decimal

import factory

from catalog.models import Service
from orders.models import Order
from orders.services import order_place
from tests.billing.factories import fund
from tests.catalog.factories import ServiceFactory
from tests.factories import UserFactory

LINK = "https://www.instagram.com/someone/"


def funded_customer(*, deposited: str = "0", promotional: str = "0", **fields):
    user = UserFactory(**fields)
    fund(user, deposited=deposited, promotional=promotional)
    return user


def place(user, service: Service, *, link: str = LINK, quantity=1000, source="web", **fields):
    return order_place(
        user=user, service_id=service.pk, link=link, quantity=quantity, source=source, **fields
    )


class OrderFactory(factory.django.DjangoModelFactory):
    """A bare order row (no ledger entries): for listing pages, never for money."""

    class Meta:
        model = Order

    user = factory.SubFactory(UserFactory)
    service = factory.SubFactory(ServiceFactory)
    link = factory.Sequence(lambda n: f"https://www.instagram.com/p/post{n}/")
    quantity = 1000
    charge = Decimal("1.20000")
    paid_promotional = Decimal("0")
    paid_deposited = factory.SelfAttribute("charge")
    source = Order.Source.WEB
    service_name = factory.SelfAttribute("service.name")
    service_type = factory.SelfAttribute("service.type")
    rate = factory.SelfAttribute("service.rate")
    min_quantity = factory.SelfAttribute("service.min_quantity")
    max_quantity = factory.SelfAttribute("service.max_quantity")
