"""The relay state moves as data (``RELAY_TRANSITIONS`` + ``relay_move``), and a provider is
asked to cancel an order once, however often the cancel task runs (R-ORD-6, R-ORD-16)."""

from decimal import Decimal

import pytest

from orders.exceptions import InvalidTransition
from orders.models import RELAY_TRANSITIONS, Order, RelayState
from orders.services import order_cancel_request
from orders.services.lifecycle import relay_move
from orders.services.relay import order_cancel_relay
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


def test_every_relay_state_has_its_moves_and_closed_is_final():
    assert set(RELAY_TRANSITIONS) == set(RelayState.values)
    assert RELAY_TRANSITIONS[RelayState.CLOSED] == frozenset()
    for targets in RELAY_TRANSITIONS.values():
        assert targets <= set(RelayState.values)


def test_relay_move_refuses_a_move_the_table_does_not_allow(routed_service):
    order = place(funded_customer(deposited="10"), routed_service)
    assert order.relay_state == RelayState.QUEUED
    with pytest.raises(InvalidTransition):
        relay_move(order=order, new=RelayState.PLACED)  # never placed without being sent
    relay_move(order=order, new=RelayState.SENDING)
    relay_move(order=order, new=RelayState.RECONCILE, error="timed out")
    assert (order.relay_state, order.relay_error, order.lease_until) == (
        RelayState.RECONCILE,
        "timed out",
        None,
    )


def test_the_provider_is_asked_to_cancel_once(
    routed_service, simulator, django_capture_on_commit_callbacks
):  # R-ORD-6
    simulator.step_seconds = 600  # stays Pending at the provider
    routed_service.cancel = True
    routed_service.save()
    user = funded_customer(deposited="10")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, routed_service)
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    before = simulator.requests_received
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=user, order=order)  # runs the cancel task once
    order_cancel_relay(order_id=order.pk)  # a redelivered task
    order_cancel_relay(order_id=order.pk)
    assert simulator.requests_received - before == 1
    order.refresh_from_db()
    assert order.cancel_sent_at is not None
    accepted = order.events.filter(note__startswith="The provider accepted the cancel")
    assert accepted.count() == 1
    assert order.status == Order.Status.PENDING  # the return waits for the provider's word
