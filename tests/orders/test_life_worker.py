"""Order life after placement end to end: a real Celery worker and its beat on Redis, the
provider simulator over HTTP (R-ORD-10, R-ORD-11, R-ORD-13).

The worker runs with fast clocks (``tests/orders/celery_worker.py``): every beat 0.3 s,
a subscription cycle every 0.6 s.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.selectors import balance_get
from catalog.models import Service
from orders.models import Order, Refill, Subscription
from orders.services.refills import refill_request
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.orders.celery_worker import wait_for
from tests.orders.factories import funded_customer, place

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
D = Decimal


def _fresh(order):
    return Order.objects.get(pk=order.pk)


@pytest.mark.usefixtures("celery_worker")
def test_drip_feed_portions_go_out_once_each_in_sequence(
    routed_service, simulator, assert_ledger_ok
):
    # R-ORD-10: the beat releases each portion once, in sequence; interval 0 is back to back.
    routed_service.dripfeed = True
    routed_service.save()
    simulator.step_seconds = 0.1
    user = funded_customer(deposited="10")
    parent = place(user, routed_service, quantity=500, extra={"runs": 4, "interval": 0})

    done = wait_for(lambda: (p := _fresh(parent)).is_final and p, timeout=60, what="drip-feed")
    assert (done.status, done.remains, done.refunded) == ("completed", 0, D("0"))
    portions = list(Order.objects.filter(parent=parent).order_by("portion"))
    assert all(p.status == "completed" for p in portions)
    assert simulator.adds_received == 4  # never twice
    assert len({p.provider_order_id for p in portions}) == 4
    sent = [p.sent_at for p in portions]
    assert sent == sorted(sent)  # in sequence
    assert balance_get(user=user).total == D("10") - D("2.40")
    assert_ledger_ok()


@pytest.mark.usefixtures("celery_worker")
def test_refill_is_sent_and_followed_by_the_worker(sim_provider, simulator, assert_ledger_ok):
    # R-ORD-13: refill to the provider, refill_status polled until it ends.
    service = ServiceFactory(rate=D("2.50"), min_quantity=50, max_quantity=50000, refill=True,
                             refill_days=30)  # fmt: skip
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="101",
                           provider_rate=D("1.90"))  # fmt: skip
    simulator.step_seconds = 0.1
    user = funded_customer(deposited="10")
    order = place(user, service, quantity=1000)
    order = wait_for(lambda: (o := _fresh(order)).status == "completed" and o, what="completed")
    refill = refill_request(user=user, order=order)
    seen = set()

    def ended():
        current = Refill.objects.get(pk=refill.pk)
        seen.add(current.status)
        return current.is_final and current

    final = wait_for(ended, timeout=30, what="the refill to end")
    assert final.status == "completed"
    assert final.provider_refill_id in simulator.refills
    assert balance_get(user=user).total == D("10") - D("2.50")  # a refill costs nothing
    assert_ledger_ok()


@pytest.mark.usefixtures("celery_worker")
def test_subscription_cycles_run_and_pause_when_unfunded(
    sim_provider, simulator, settings, assert_ledger_ok
):
    # R-ORD-11: cycles charged as they run; unfundable ones skipped; paused after N (3).
    service = ServiceFactory(type=Service.Type.SUBSCRIPTIONS, rate=D("2.00"), min_quantity=50,
                             max_quantity=5000, link_rule="username")  # fmt: skip
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="109",
                           provider_rate=D("0.20"))  # fmt: skip
    user = funded_customer(deposited="2.50")  # two cycles of 1.00
    order = place(user, service, quantity=None, link="", extra={
        "username": "brand", "min": "500", "max": "500", "delay": "0"})  # fmt: skip
    sub = wait_for(
        lambda: (s := Subscription.objects.get(order=order)).state == "paused" and s,
        timeout=60, what="the subscription to pause",
    )  # fmt: skip
    outcomes = list(sub.cycles.values_list("outcome", flat=True))
    assert outcomes == ["ordered", "ordered", "skipped", "skipped", "skipped"]
    assert balance_get(user=user).total == D("0.50")
    assert Order.objects.filter(parent=order).count() == 2
    assert sub.next_cycle_at is None
    assert timezone.now()
    assert_ledger_ok()
