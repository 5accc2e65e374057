"""Order life in Chromium (R-ORD-10, R-ORD-13): a drip-feed placed, stopped, its return in
the balance history; a refill requested on a Completed order and its status followed."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from orders.models import Order, Refill
from orders.services.relay import orders_poll
from orders.services.relay.refill import refills_due
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.orders.factories import funded_customer, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def customer():
    return funded_customer(deposited="20")


@pytest.fixture
def signed_in(page, live_server, customer):
    client = Client()
    client.force_login(customer)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return page


def test_drip_feed_placed_stopped_and_returned_in_balance_history(
    signed_in, routed_service, simulator, assert_ledger_ok
):
    # R-ORD-10: 4 runs of 500 at 1.20 = 2.40; portion 1 is sent, stopping returns 1.80.
    routed_service.dripfeed = True
    routed_service.save()
    simulator.step_seconds = 30  # portion 1 stays active at the provider
    page = signed_in
    page.goto("/orders/new/")
    page.select_option("#id_service", str(routed_service.pk))
    page.fill("#id_link", "https://www.instagram.com/drip_target/")
    page.fill("#id_quantity", "500")
    page.check("#id_dripfeed")
    page.fill("#id_runs", "4")
    page.fill("#id_interval", "0")
    assert page.locator("#charge").inner_text() == "$2.40"
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    assert page.locator(".portion-row").count() == 4
    parent = Order.objects.get(parent=None)
    assert parent.quantity == 2000

    asked = []  # the shared data-confirm hook asks before anything is stopped (issue 14)
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#stop-dripfeed")
    page.wait_for_selector("#dripfeed-stopped")
    assert len(asked) == 1
    assert asked[0].startswith(f"Stop drip-feed order #{parent.pk}?")
    assert "$1.80 is back on your balance" in page.content()
    assert page.locator("#order-refunded").inner_text() == "$1.80"

    page.goto("/billing/history/")
    history = page.locator("table").inner_text()
    assert "drip-feed stopped, 3 unsent portions" in history
    assert "1.80" in history
    assert_ledger_ok()


def test_refill_requested_on_a_completed_order_and_its_status(
    signed_in, customer, sim_provider, simulator
):
    # R-ORD-13: the Refill button with its window; the refill's status as the provider says.
    service = ServiceFactory(rate=D("2.50"), min_quantity=50, max_quantity=50000, refill=True,
                             refill_days=30)  # fmt: skip
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="101",
                           provider_rate=D("1.90"))  # fmt: skip
    simulator.step_seconds = 0
    order = place(customer, service, quantity=1000)
    Order.objects.filter(pk=order.pk).update(poll_due_at=timezone.now())
    orders_poll()
    page = signed_in
    page.goto(f"/orders/{order.pk}/")
    assert "Refill until" in page.locator("#refill-window").inner_text()
    page.click("#refill-order")
    page.wait_for_selector("#order-refills")
    assert page.locator(".refill-row .badge").inner_text() == "Pending"
    Refill.objects.update(due_at=timezone.now())
    refills_due()
    page.goto("/orders/refills/")
    assert page.locator(".refill-row .badge").inner_text() == "Completed"
