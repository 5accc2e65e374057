"""End to end: a real Celery worker and its beat on Redis, the provider simulator over HTTP.

Orders are placed here (their commit puts the relay on the broker); the worker sends them,
its beat polls them, and the tests watch the database. The worker runs with fast clocks
(``tests/orders/celery_worker.py``): beat every 0.3 s, a 3 s provider timeout.
"""

import time
from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.selectors import balance_get
from orders.models import Order
from orders.services import order_reconcile
from tests.catalog.factories import ProviderServiceFactory
from tests.factories import StaffFactory
from tests.orders.celery_worker import wait_for
from tests.orders.conftest import REMOTE_ID
from tests.orders.factories import funded_customer, place

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
D = Decimal


def _fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def _final(order: Order) -> Order | None:
    fresh = _fresh(order)
    return fresh if fresh.is_final else None


def _statuses(order: Order) -> list[str]:
    return list(order.events.filter(staff_only=False).values_list("new_status", flat=True))


@pytest.mark.usefixtures("celery_worker")
def test_orders_complete_partial_and_cancel_through_the_worker(routed_service, simulator):
    # R-ORD-4, R-ORD-5, R-ORD-7, R-ORD-8. Each order costs 1.20 (1,000 at 1.20).
    simulator.step_seconds = 0.5  # In progress for 1 s: the 0.3 s polls see it
    user = funded_customer(deposited="10", promotional="2")
    done = place(user, routed_service, link="https://www.instagram.com/done/")
    partial = place(user, routed_service, link="https://www.instagram.com/partial/")
    canceled = place(user, routed_service, link="https://www.instagram.com/cancel/")

    done, partial, canceled = (
        wait_for(lambda o=o: _final(o), timeout=30, what=f"order {o.link} to end")
        for o in (done, partial, canceled)
    )
    assert _statuses(done) == ["pending", "in_progress", "completed"]
    assert (done.remains, done.refunded) == (0, D("0"))
    assert done.start_count == simulator._state(simulator.orders[done.provider_order_id])[1]
    assert done.start_count > 0
    assert (partial.status, partial.remains, partial.refunded) == ("partial", 250, D("0.30"))
    assert (canceled.status, canceled.refunded) == ("canceled", D("1.20"))
    assert simulator.adds_received == 3
    # Paid 1.20 + 0.80 promotional then 0.40 + 1.20 deposited; returns follow those shares.
    assert (partial.paid_promotional, partial.paid_deposited) == (D("0.80"), D("0.40"))
    balance = balance_get(user=user)
    assert balance.promotional == D("0.20")  # 0.30 x 0.80/1.20 of the Partial return
    assert balance.deposited == D("8.40") + D("0.10") + D("1.20")
    call_command("ledger_check")  # R-BAL-3: exits non-zero (raises) on any mismatch


@pytest.mark.usefixtures("celery_worker")
def test_an_add_that_times_out_is_never_sent_twice_and_ends_reconciled(routed_service, simulator):
    simulator.step_seconds = 0.2
    simulator.inject("delay", action="add", seconds=5.0, times=1)  # placed; answer after 5 s
    user = funded_customer(deposited="5")
    order = place(user, routed_service)

    order = wait_for(
        lambda: (o := _fresh(order)).relay_state == "reconcile" and o, what="reconciliation"
    )
    assert order.status == "pending"
    assert "No answer" in order.relay_error
    # The provider did place it. Five beats of the relay go by: it is not sent again.
    assert simulator.orders_placed == 1
    time.sleep(1.5)
    assert simulator.adds_received == 1
    assert _fresh(order).relay_state == "reconcile"

    (remote,) = simulator.orders.values()
    order_reconcile(order_id=order.pk, provider_order_id=remote.id, actor=StaffFactory())
    order = wait_for(lambda: _final(order), what="the reconciled order to complete")
    assert (order.status, order.provider_order_id) == ("completed", remote.id)
    assert simulator.adds_received == 1
    call_command("ledger_check")


@pytest.mark.usefixtures("celery_worker")
def test_broken_answers_are_retried_and_complete_once_the_provider_recovers(
    routed_service, simulator
):
    simulator.step_seconds = 0.1
    simulator.inject("http_error", action="add", status=429, times=2, process=False)
    for fault in ("http_error", "html", "garbage"):
        simulator.inject(fault, action="status", times=2)
    user = funded_customer(deposited="5")
    order = place(user, routed_service)

    order = wait_for(lambda: _final(order), what="the order to complete")
    assert order.status == "completed"
    assert (simulator.adds_received, simulator.orders_placed) == (3, 1)
    assert simulator.faults == []  # every fault was met, and outlived
    retries = order.events.filter(staff_only=True, note__contains="HTTP 429").count()
    assert retries == 2


@pytest.fixture
def second_route(routed_service, sim_provider_b):
    return ProviderServiceFactory(
        service=routed_service, provider=sim_provider_b, remote_service_id=REMOTE_ID, priority=2,
        provider_rate=D("0.45"),
    )  # fmt: skip


@pytest.mark.usefixtures("celery_worker", "second_route")
@pytest.mark.parametrize(
    ("fault", "adds_at_first"),
    [
        ({"kind": "error", "message": "error.incorrect_service_id"}, 1),  # refused: at once
        ({"kind": "out_of_funds", "untranslated": True}, 3),  # retry later: after 3 tries
    ],
)
def test_the_second_ranked_provider_gets_what_the_first_refuses(
    routed_service, simulator, simulator_b, fault, adds_at_first
):
    simulator.step_seconds = simulator_b.step_seconds = 0.1
    simulator.inject(action="add", **fault)
    order = place(funded_customer(deposited="5"), routed_service)

    order = wait_for(lambda: _final(order), what="the order to complete at the second provider")
    assert order.status == "completed"
    assert order.provider.name == "Simulator B"
    assert (simulator.adds_received, simulator.orders_placed) == (adds_at_first, 0)
    assert (simulator_b.adds_received, simulator_b.orders_placed) == (1, 1)
    call_command("ledger_check")
