"""demo_data places the demo customer's orders once (they move when the worker runs)."""

import io

import pytest
from django.core.management import call_command

from orders.models import Order

pytestmark = pytest.mark.django_db


def test_demo_data_places_demo_orders_once():
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    orders = Order.objects.filter(
        user__username="demo", idempotency_key__regex=r"^demo-[0-9]+$"
    ).order_by("pk")
    assert [o.link.rsplit("/", 2)[-2] for o in orders] == [
        "demo_brand", "demo-partial-post", "video", "video",
    ]  # fmt: skip
    assert {(o.status, o.relay_state) for o in orders} == {("pending", "queued")}
    assert "4 demo orders for 'demo'" in out.getvalue()
    call_command("demo_data", stdout=io.StringIO())
    assert orders.count() == 4


def test_demo_data_has_a_drip_feed_a_refill_order_and_a_subscription():
    # issue 10: make run shows a running drip-feed, a refillable order and a subscription.
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    life = {
        o.idempotency_key: o
        for o in Order.objects.filter(
            user__username="demo", idempotency_key__startswith="demo-life"
        )
    }
    assert life["demo-life-drip"].portions.count() == 10
    assert life["demo-life-refill"].refill
    assert life["demo-life-subscription"].subscription.username == "demo_brand"
    assert "order life demos" in out.getvalue()
    call_command("demo_data", stdout=io.StringIO())
    assert Order.objects.filter(idempotency_key__startswith="demo-life").count() == 3
