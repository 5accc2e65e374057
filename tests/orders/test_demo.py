"""demo_data places the demo customer's orders once (they move when the worker runs)."""

import io

import pytest
from django.core.management import call_command

from orders.models import Order

pytestmark = pytest.mark.django_db


def test_demo_data_places_demo_orders_once():
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    orders = Order.objects.filter(user__username="demo").order_by("pk")
    assert [o.link.rsplit("/", 2)[-2] for o in orders] == [
        "demo_brand", "demo-partial-post", "video", "video",
    ]  # fmt: skip
    assert {(o.status, o.relay_state) for o in orders} == {("pending", "queued")}
    assert "4 demo orders for 'demo'" in out.getvalue()
    call_command("demo_data", stdout=io.StringIO())
    assert Order.objects.filter(user__username="demo").count() == 4
