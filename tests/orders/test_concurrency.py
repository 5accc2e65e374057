"""Concurrency on real Postgres: threads, each with its own connection (R-BAL-5, R-ORD-7/12)."""

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import Transaction
from billing.selectors import balance_get
from orders.exceptions import NotEnoughFunds, OverlappingOrder
from orders.models import Order
from orders.services import order_place
from orders.services.relay import order_provider_status_apply, orders_poll
from tests.catalog.factories import ServiceFactory
from tests.limits import MAX_DB_CONNECTIONS_PER_TEST
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal
# Connections open at once: other engineers' suites share this Postgres (max_connections 100).
CONNECTIONS = MAX_DB_CONNECTIONS_PER_TEST


def _run_at_once(count: int, work) -> list:
    """Start ``count`` threads together; each calls ``work(n)`` holding one of CONNECTIONS."""
    start = threading.Barrier(count)
    pool = threading.BoundedSemaphore(CONNECTIONS)
    results: list = [None] * count

    def run(n: int) -> None:
        start.wait(timeout=60)
        with pool:
            try:
                results[n] = work(n)
            except Exception as exc:  # noqa: BLE001 - kept and asserted on, never lost
                results[n] = exc
            finally:
                connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return results


def test_200_concurrent_placements_against_50_dollars_make_exactly_50_orders(assert_ledger_ok):
    # R-BAL-5, R-BAL-4: 200 orders of 1.00 at once from web, mass order and API; 50.00 there.
    user = funded_customer(deposited="30", promotional="20")
    service = ServiceFactory(rate=D("1.00"), min_quantity=100, max_quantity=10000)
    sources = ["web", "mass", "api"]

    results = _run_at_once(
        200,
        lambda n: order_place(
            user=user, service_id=service.pk, link=f"https://www.instagram.com/p/{n}/",
            quantity=1000, source=sources[n % 3],
        ),
    )  # fmt: skip

    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 50, "NotEnoughFunds": 150}
    assert Order.objects.filter(user=user).count() == 50
    balance = balance_get(user=user)
    assert (balance.total, balance.promotional, balance.deposited) == (D("0"), D("0"), D("0"))
    orders = Order.objects.filter(user=user)
    assert sum(o.paid_promotional for o in orders) == D("20")
    assert sum(o.paid_deposited for o in orders) == D("30")
    assert Transaction.objects.filter(user=user, reason="spend").count() == 50
    assert all(isinstance(r, NotEnoughFunds) for r in results if not isinstance(r, Order))
    assert_ledger_ok()


def test_concurrent_orders_on_one_link_make_one_order(assert_ledger_ok):  # R-ORD-12
    user = funded_customer(deposited="50")
    service = ServiceFactory(rate=D("1.00"), min_quantity=100, max_quantity=10000)
    results = _run_at_once(
        20, lambda n: place(user, service, link="https://www.instagram.com/same/", quantity=1000)
    )
    kinds = Counter(type(result).__name__ for result in results)
    assert kinds == {"Order": 1, "OverlappingOrder": 19}
    assert all(isinstance(r, Order | OverlappingOrder) for r in results)
    assert balance_get(user=user).total == D("49.00")
    assert_ledger_ok()


def test_concurrent_retries_with_one_idempotency_key_make_one_order(assert_ledger_ok):
    user = funded_customer(deposited="50")
    service = ServiceFactory(rate=D("1.00"), min_quantity=100, max_quantity=10000)
    results = _run_at_once(
        20,
        lambda n: order_place(
            user=user, service_id=service.pk, link=f"https://www.instagram.com/p/{n}/",
            quantity=1000, source="api", idempotency_key="client-retry-7",
        ),
    )  # fmt: skip
    assert all(isinstance(r, Order) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Order.objects.count() == 1
    assert balance_get(user=user).total == D("49.00")
    assert_ledger_ok()


def test_two_pollers_at_once_never_apply_a_partial_return_twice(
    routed_service, simulator, settings, assert_ledger_ok
):  # R-ORD-7: exactly once
    settings.ORDERS_POLL_SECONDS = 0
    simulator.step_seconds = 0  # every order is Partial at the provider at once
    user = funded_customer(deposited="200")
    for n in range(120):  # each commit relays its order inline (eager tasks in unit tests)
        place(user, routed_service, link=f"https://www.instagram.com/partial-{n}/", quantity=1000)
    assert Order.objects.filter(relay_state="placed").count() == 120

    # Two pollers at the same moment share the batches (100 + 20): none answered twice.
    answered = _run_at_once(2, lambda n: orders_poll())
    assert sum(answered) == 120

    # And two workers applying the very same answers at once, as a late duplicate would.
    answer = {"status": "Partial", "remains": "250", "start_count": "10"}

    placed = list(Order.objects.values_list("pk", "provider_id"))

    def apply_all(n: int) -> int:
        for order_id, provider_id in placed:
            order_provider_status_apply(order_id=order_id, provider_id=provider_id, data=answer)
        return n

    assert _run_at_once(2, apply_all) == [0, 1]

    returns = Counter(
        Transaction.objects.filter(user=user, reason="return").values_list("ref_id", flat=True)
    )
    assert len(returns) == 120
    assert set(returns.values()) == {1}
    assert set(Order.objects.values_list("status", "remains", "refunded")) == {
        ("partial", 250, D("0.30"))
    }
    assert balance_get(user=user).deposited == D("200") - 120 * D("1.20") + 120 * D("0.30")
    assert_ledger_ok()
