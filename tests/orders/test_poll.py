"""Status tracking: multi-status polling, status mapping and returns (R-ORD-4, 5, 7, 8)."""

from decimal import Decimal

import pytest

from billing.models import Transaction
from billing.selectors import balance_get
from orders.models import Order
from orders.services import order_cancel_request
from orders.services.relay import order_provider_status_apply, orders_poll
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def customer():
    return funded_customer(deposited="30", promotional="3")


@pytest.fixture
def relayed(customer, routed_service, django_capture_on_commit_callbacks, settings):
    """Place orders and send them to the simulator, inline; each poll finds them due."""
    settings.ORDERS_POLL_SECONDS = 0

    def _relayed(*links, quantity=1000):
        with django_capture_on_commit_callbacks(execute=True):
            orders = [
                place(customer, routed_service, link=link, quantity=quantity) for link in links
            ]
        for order in orders:
            order.refresh_from_db()
            assert order.relay_state == "placed"
        return orders

    return _relayed


def _poll(*orders):
    answered = orders_poll()
    for order in orders:
        order.refresh_from_db()
    return answered


def test_completed_partial_and_canceled_with_their_returns(
    relayed, simulator, customer, assert_ledger_ok
):
    # R-ORD-4, R-ORD-5, R-ORD-7, R-ORD-8. Each order costs 1.20.
    simulator.step_seconds = 0
    done, partial, canceled = relayed(
        "https://www.instagram.com/done/",
        "https://www.instagram.com/partial/",
        "https://www.instagram.com/cancel/",
        quantity=1000,
    )
    assert _poll(done, partial, canceled) == 3
    assert (done.status, done.remains, done.refunded) == ("completed", 0, D("0"))
    assert done.start_count == simulator._state(simulator.orders[done.provider_order_id])[1]
    # Partial: a quarter undelivered, 1.20 x 250 / 1000 = 0.30 back.
    assert (partial.status, partial.remains, partial.refunded) == ("partial", 250, D("0.30"))
    assert (canceled.status, canceled.refunded) == ("canceled", D("1.20"))
    # Promotional first: 1.20 and 1.20 of the 3.00, then 0.60 of it + 0.60 deposited.
    # Returns go back to the sources in the proportions paid.
    assert (partial.paid_promotional, partial.paid_deposited) == (D("1.20"), D("0"))
    assert (canceled.paid_promotional, canceled.paid_deposited) == (D("0.60"), D("0.60"))
    balance = balance_get(user=customer)
    assert (balance.promotional, balance.deposited) == (D("0.90"), D("30.00"))
    history = list(partial.events.filter(staff_only=False).values_list("new_status", "cause"))
    assert history == [("pending", "customer"), ("partial", "provider")]
    assert_ledger_ok()


def test_in_progress_and_processing_record_start_count_and_remains(relayed, simulator):
    simulator.step_seconds = 1000  # nothing moves unless forced
    (order,) = relayed("https://www.instagram.com/slow/")
    _poll(order)
    assert (order.status, order.start_count, order.remains) == ("pending", None, None)

    simulator.force_status(order.provider_order_id, "In progress", remains=600)
    _poll_now(order)
    assert (order.status, order.remains) == ("in_progress", 600)
    assert order.start_count == simulator._state(simulator.orders[order.provider_order_id])[1]
    first_start = order.start_count

    simulator.force_status(order.provider_order_id, "Processing", remains=100)
    _poll_now(order)
    assert (order.status, order.remains, order.start_count) == ("processing", 100, first_start)

    simulator.force_status(order.provider_order_id, "Partial", remains=100)
    _poll_now(order)
    assert (order.status, order.remains, order.refunded) == ("partial", 100, D("0.12"))
    moves = list(order.events.filter(staff_only=False).values_list("old_status", "new_status"))
    assert moves == [
        ("", "pending"),
        ("pending", "in_progress"),
        ("in_progress", "processing"),
        ("processing", "partial"),
    ]


def test_canceled_after_starting_keeps_the_providers_remains_and_returns_all(relayed, simulator):
    # R-ORD-8: Canceled returns the whole charge whatever was reported before.
    simulator.step_seconds = 1000
    (order,) = relayed("https://www.instagram.com/stopped/")
    simulator.force_status(order.provider_order_id, "In progress", remains=600)
    _poll_now(order)
    simulator.force_status(order.provider_order_id, "Canceled", remains=1000)
    _poll_now(order)
    assert (order.status, order.remains, order.refunded) == ("canceled", 1000, D("1.20"))


def _poll_now(order):
    Order.objects.filter(pk=order.pk).update(poll_due_at=order.created_at)
    _poll(order)


def test_a_final_order_is_never_polled_or_returned_again(relayed, simulator, customer):
    simulator.step_seconds = 0
    (order,) = relayed("https://www.instagram.com/partial-once/")
    _poll(order)
    assert order.status == "partial"
    assert order.poll_due_at is None
    requests = simulator.requests_received
    _poll(order)
    assert simulator.requests_received == requests
    # The same answer applied again, as a late or duplicate poll would: nothing changes.
    answer = {"status": "Canceled", "remains": "1000", "start_count": "5"}
    order_provider_status_apply(order_id=order.pk, provider_id=order.provider_id, data=answer)
    order.refresh_from_db()
    assert (order.status, order.refunded) == ("partial", D("0.30"))
    returns = Transaction.objects.filter(user=customer, reason="return")
    assert returns.count() == 1


def test_polls_in_batches_of_at_most_100_per_provider(relayed, simulator):
    simulator.step_seconds = 0
    orders = relayed(*[f"https://www.instagram.com/p/{n}/" for n in range(201)], quantity=100)
    before = simulator.requests_received
    assert _poll(*orders) == 201
    assert simulator.requests_received - before == 3  # 100 + 100 + 1
    assert {o.status for o in orders} == {"completed"}


def test_status_answers_that_fail_are_retried_and_complete_once_it_recovers(
    relayed, simulator, settings
):
    settings.ORDERS_POLL_SECONDS = 0
    simulator.step_seconds = 0
    (order,) = relayed("https://www.instagram.com/flaky/")
    for fault in ("http_error", "html", "garbage", "empty"):
        simulator.inject(fault, action="status", times=1)
        _poll(order)
        assert order.status == "pending", fault
    _poll(order)
    assert order.status == "completed"


def test_an_order_the_provider_does_not_know_goes_to_staff(relayed, simulator):
    (order,) = relayed("https://www.instagram.com/lost/")
    simulator.orders.pop(order.provider_order_id)
    _poll_now(order)
    assert (order.status, order.relay_state) == ("pending", "reconcile")
    assert "Incorrect order ID" in order.relay_error


def test_unknown_provider_status_changes_nothing(relayed):
    (order,) = relayed("https://www.instagram.com/odd/")
    order_provider_status_apply(
        order_id=order.pk, provider_id=order.provider_id, data={"status": "Weird", "remains": "1"}
    )
    order.refresh_from_db()
    assert (order.status, order.remains) == ("pending", None)


def test_customer_cancel_goes_to_the_provider_and_returns_on_its_confirmation(
    relayed, simulator, customer, django_capture_on_commit_callbacks
):  # R-ORD-6, R-ORD-8
    simulator.step_seconds = 1000  # stays Pending at the provider
    (order,) = relayed("https://www.instagram.com/changed-my-mind/")
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=customer, order=order)
    order.refresh_from_db()
    assert order.status == "pending"  # not final until the provider confirms
    assert order.cancel_requested_at is not None
    assert simulator.orders[order.provider_order_id].canceled
    _poll(order)
    assert (order.status, order.refunded) == ("canceled", D("1.20"))
    assert order.events.filter(note__contains="accepted the cancel").exists()
    assert balance_get(user=customer).total == D("33.00")


def test_a_cancel_the_provider_refuses_is_said_so(
    relayed, simulator, customer, django_capture_on_commit_callbacks
):
    simulator.step_seconds = 1000
    (order,) = relayed("https://www.instagram.com/too-late/")
    simulator.force_status(order.provider_order_id, "Pending", remains=1000)
    simulator.orders[order.provider_order_id].forced = ("In progress", 900)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=customer, order=order)  # we still think it Pending
    order.refresh_from_db()
    assert order.status == "pending"
    assert order.events.filter(note="The provider could not cancel this order.").exists()
    _poll_now(order)
    assert (order.status, order.refunded) == ("in_progress", D("0"))
