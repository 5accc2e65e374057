"""Customer cancel (R-ORD-6) and the staff's cancel, Partial and pricing-error actions."""

from decimal import Decimal

import pytest

from billing.selectors import balance_get
from catalog.services import service_flag_pricing_error
from orders.exceptions import CancelRefused, OrderRefused, StaffActionRefused
from orders.models import Order, OrderEvent
from orders.services import (
    order_cancel_request,
    order_staff_cancel,
    order_staff_partial,
    order_staff_progress,
    orders_cancel_pricing_error,
)
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def service():
    return ServiceFactory(rate=D("2.00"), min_quantity=10, max_quantity=10000, cancel=True)


@pytest.fixture
def staff():
    return StaffFactory()


def test_cancel_before_sending_returns_everything_to_its_sources(service):  # R-ORD-6, R-ORD-8
    user = funded_customer(deposited="3", promotional="0.50")
    order = place(user, service, quantity=1000)  # 2.00: 0.50 promotional + 1.50 deposited
    order_cancel_request(user=user, order=order)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    assert order.relay_state == Order.RelayState.CLOSED
    assert order.refunded == D("2.00")
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("0.50"), D("3.00"))
    event = order.events.last()
    assert (event.old_status, event.new_status, event.cause) == ("pending", "canceled", "customer")


def test_customer_cannot_cancel_once_active(service):  # R-ORD-6
    user = funded_customer(deposited="5")
    order = place(user, service)
    order_staff_progress(order_id=order.pk, status="in_progress", actor=StaffFactory())
    with pytest.raises(CancelRefused) as refused:
        order_cancel_request(user=user, order=order)
    assert isinstance(refused.value, OrderRefused)
    assert refused.value.api_message == "Order cannot be canceled"
    assert "started" in refused.value.message


def test_customer_cannot_cancel_when_the_service_does_not_allow_it():  # R-ORD-6
    user = funded_customer(deposited="5")
    order = place(user, ServiceFactory(cancel=False))
    with pytest.raises(CancelRefused) as refused:
        order_cancel_request(user=user, order=order)
    assert refused.value.api_message == "Order cannot be canceled"
    assert Order.objects.get().status == Order.Status.PENDING


def test_customer_cannot_cancel_a_final_order(service, staff):
    user = funded_customer(deposited="5")
    order = place(user, service)
    order_staff_cancel(order_id=order.pk, actor=staff, reason="test")
    with pytest.raises(CancelRefused):
        order_cancel_request(user=user, order=order)


def test_cancel_of_someone_elses_order_is_not_found(service):
    order = place(funded_customer(deposited="5"), service)
    with pytest.raises(Order.DoesNotExist):
        order_cancel_request(user=UserFactory(), order=order)


def test_the_service_allowing_cancel_later_does_not_change_the_order():  # R-CAT-2
    service = ServiceFactory(cancel=False)
    user = funded_customer(deposited="5")
    order = place(user, service)
    service.cancel = True
    service.save()
    with pytest.raises(CancelRefused):
        order_cancel_request(user=user, order=order)


def test_staff_partial_returns_the_undelivered_share(service, staff):  # R-ORD-7
    user = funded_customer(deposited="1.00", promotional="1.00")
    order = place(user, service, quantity=1000)  # 2.00 = 1.00 promotional + 1.00 deposited
    order_staff_partial(order_id=order.pk, remains=250, actor=staff, reason="provider short")
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == ("partial", 250, D("0.50"))
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("0.25"), D("0.25"))
    event = order.events.last()
    assert (event.new_status, event.cause, event.actor, event.note) == (
        "partial", "staff", staff, "provider short"
    )  # fmt: skip
    # Final: nothing moves it again, no second return.
    with pytest.raises(StaffActionRefused):
        order_staff_cancel(order_id=order.pk, actor=staff, reason="again")
    with pytest.raises(StaffActionRefused):
        order_staff_partial(order_id=order.pk, remains=100, actor=staff, reason="again")
    assert balance_get(user=user).total == D("0.50")


def test_staff_partial_refuses_remains_outside_the_quantity(service, staff):
    order = place(funded_customer(deposited="5"), service, quantity=100)
    with pytest.raises(StaffActionRefused):
        order_staff_partial(order_id=order.pk, remains=101, actor=staff, reason="x")


def test_manual_delivery_moves_with_start_count_and_completes(service, staff):  # R-ORD-5
    user = funded_customer(deposited="5")
    order = place(user, service, quantity=100)
    order_staff_progress(order_id=order.pk, status="in_progress", actor=staff, start_count=321)
    order_staff_progress(order_id=order.pk, status="completed", actor=staff)
    order.refresh_from_db()
    assert (order.status, order.start_count, order.remains) == ("completed", 321, 0)
    assert order.completed_at is not None
    moves = list(order.events.values_list("old_status", "new_status", "cause"))
    assert moves == [
        ("", "pending", "customer"),
        ("pending", "in_progress", "staff"),
        ("in_progress", "completed", "staff"),
    ]


def test_pricing_error_cancels_unfinished_orders_with_a_full_return(service, staff):  # R-CAT-4
    user = funded_customer(deposited="10", promotional="1")
    pending = place(user, service, quantity=1000)
    started = place(user, service, link="https://www.instagram.com/b/", quantity=1000)
    order_staff_progress(order_id=started.pk, status="in_progress", actor=staff)
    done = place(user, service, link="https://www.instagram.com/c/", quantity=1000)
    order_staff_progress(order_id=done.pk, status="completed", actor=staff)
    other = place(user, ServiceFactory(), link="https://www.instagram.com/d/", quantity=1000)

    with pytest.raises(StaffActionRefused):  # not flagged yet
        orders_cancel_pricing_error(service_id=service.pk, actor=staff)
    service_flag_pricing_error(service=service, note="0.002 instead of 2.00", actor=staff)
    assert orders_cancel_pricing_error(service_id=service.pk, actor=staff) == 2

    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses == {
        pending.pk: "canceled", started.pk: "canceled", done.pk: "completed", other.pk: "pending"
    }  # fmt: skip
    # Spent 2.00 x 3 + 1.20 (the 1.00 promotional in the first); two came back in full.
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("1.00"), D("6.80"))
    assert OrderEvent.objects.filter(order=pending, cause="staff", new_status="canceled").exists()
    # Running it again finds nothing left to cancel.
    assert orders_cancel_pricing_error(service_id=service.pk, actor=staff) == 0


def test_pricing_error_leaves_orders_placed_after_the_flag(staff):  # R-CAT-4
    service = ServiceFactory(cancel=True)
    service = service_flag_pricing_error(service=service, note="typo", actor=staff)
    service.enabled = True
    service.disabled_reason = ""
    service.save()
    user = funded_customer(deposited="5")
    later = place(user, service, quantity=100)
    assert later.created_at > service.pricing_error_at
    assert orders_cancel_pricing_error(service_id=service.pk, actor=staff) == 0
    assert Order.objects.get().status == "pending"


def test_staff_cannot_act_on_an_order_while_its_add_is_on_the_wire(service, staff):
    order = place(funded_customer(deposited="5"), service)
    Order.objects.filter(pk=order.pk).update(relay_state=Order.RelayState.SENDING)
    with pytest.raises(StaffActionRefused, match="being sent right now"):
        order_staff_cancel(order_id=order.pk, actor=staff, reason="x")
    assert Order.objects.get().status == "pending"
