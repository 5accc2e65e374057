"""R-ACC-5: a suspended account's orders that no provider has yet are held, then go on."""

import pytest

from accounts.services import account_reinstate, account_suspend
from orders.models import Order
from orders.services.relay import HELD_NOTE, order_relay, orders_relay_due
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
RelayState = Order.RelayState


def test_unsent_orders_are_held_while_suspended_and_sent_on_reinstatement(
    routed_service, simulator, django_capture_on_commit_callbacks, settings
):  # R-ACC-5
    settings.ORDERS_HOLD_RECHECK_SECONDS = 0
    staff = StaffFactory()
    customer = funded_customer(deposited="10")
    with django_capture_on_commit_callbacks(execute=False):  # placed, not sent yet
        order = place(customer, routed_service)
    account_suspend(user=customer, reason="Chargeback under review", actor=staff)

    order_relay(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        orders_relay_due()  # the beat looks again: still held
    order.refresh_from_db()
    assert (order.status, order.relay_state) == ("pending", RelayState.QUEUED)
    assert order.relay_error == HELD_NOTE
    assert order.events.filter(note=HELD_NOTE, staff_only=True).count() == 1
    assert simulator.adds_received == 0

    with django_capture_on_commit_callbacks(execute=True):
        account_reinstate(user=customer, reason="Resolved", actor=staff)
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert order.relay_error == ""
    assert simulator.adds_received == 1
