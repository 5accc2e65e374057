"""Demo orders for the demo customer, sent to the simulator of ``make run`` once it is up.

They move through their statuses as the worker relays them and the beat polls them (the
simulator moves an order a step every ``SIMULATOR_STEP_SECONDS``): one completes, one ends
Partial (its undelivered part returns), one is canceled by the provider (a full return),
and one allows cancel while it is still Pending.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model

from billing.selectors import balance_get
from billing.services import deposit_credit
from catalog.models import ProviderService
from orders.exceptions import OrderRefused
from orders.models import Order
from orders.services import order_place

PROVIDER_NAME = "Simulator"  # catalog.demo
# (the simulator's service id, link, quantity): links with "partial" / "cancel" end so there.
DEMO_ORDERS = [
    ("102", "https://www.instagram.com/demo_brand/", 1000),
    ("104", "https://www.instagram.com/p/demo-partial-post/", 500),
    ("111", "https://www.tiktok.com/@demo_brand/video/cancel-7001", 200),
    ("112", "https://www.tiktok.com/@demo_brand/video/7002", 300),
]
FUNDS = Decimal("25.00")


def seed(stdout) -> None:
    customer = get_user_model().objects.filter(username="demo").first()
    if customer is None:
        return
    if Order.objects.filter(user=customer, idempotency_key__startswith="demo-").exists():
        stdout.write("  orders: the demo orders exist already.")
        return
    if balance_get(user=customer).spendable < FUNDS:
        deposit_credit(
            user=customer, amount=FUNDS, manual=True, memo="Demo top-up for the demo orders",
            idempotency_key="demo-orders-funds",
        )  # fmt: skip
    routes = {
        route.remote_service_id: route.service_id
        for route in ProviderService.objects.filter(provider__name=PROVIDER_NAME)
    }
    placed = []
    for number, (remote_id, link, quantity) in enumerate(DEMO_ORDERS, start=1):
        if remote_id not in routes:
            continue
        try:
            order = order_place(
                user=customer, service_id=routes[remote_id], link=link, quantity=quantity,
                source=Order.Source.WEB, idempotency_key=f"demo-{number}",
            )  # fmt: skip
        except OrderRefused as refusal:
            stdout.write(f"  orders: demo order {number} refused: {refusal.message}")
            continue
        placed.append(f"#{order.pk}")
    stdout.write(
        f"  orders: {len(placed)} demo orders for 'demo' ({', '.join(placed)}); the worker sends "
        "them to the simulator and the beat moves them along."
    )
    _seed_order_life(customer, routes, stdout)


# Order life after placement (issue 10): (key, the simulator's service id, placement fields).
LIFE_ORDERS = [
    # A drip-feed running: 10 portions of 100, one every 10 minutes, so it is still running
    # long after `make run` starts (R-ORD-10).
    ("drip", "105", {"link": "https://www.instagram.com/p/demo-drip-post/", "quantity": 100,
                     "extra": {"runs": 10, "interval": 10}}),
    # A refill service's order: Completed within a minute, then refillable for 30 days.
    ("refill", "101", {"link": "https://www.instagram.com/demo_refill/", "quantity": 500}),
    # A subscription: likes on each new post of the account (R-ORD-11).
    ("subscription", "109", {"link": "", "quantity": None, "extra": {
        "username": "demo_brand", "min": "100", "max": "150", "posts": "10", "delay": "0"}}),
]  # fmt: skip


def _seed_order_life(customer, routes: dict, stdout) -> None:
    placed = []
    for key, remote_id, fields in LIFE_ORDERS:
        if remote_id not in routes:
            continue
        try:
            order = order_place(
                user=customer, service_id=routes[remote_id], source=Order.Source.WEB,
                idempotency_key=f"demo-life-{key}", **fields,
            )  # fmt: skip
        except OrderRefused as refusal:
            stdout.write(f"  orders: demo {key} order refused: {refusal.message}")
            continue
        placed.append(f"{key} #{order.pk}")
    if placed:
        stdout.write(f"  orders: order life demos ({', '.join(placed)}).")
