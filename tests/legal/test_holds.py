"""R-AUP-2, R-KEY-3: orders and accounts on hold under investigation."""

import pytest

from accounts.selectors import api_key_user
from accounts.services import api_key_issue
from legal.exceptions import HoldRefused
from legal.models import Hold
from legal.services import (
    account_hold,
    hold_cancel,
    hold_note,
    hold_reject,
    hold_release,
    order_hold,
)
from orders.models import Order
from orders.services.relay import HELD_NOTE, INVESTIGATION_NOTE, order_relay, orders_poll
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
RelayState = Order.RelayState


@pytest.fixture
def staff():
    return StaffFactory()


def _queued(customer, service, capture, **fields):
    with capture(execute=False):  # placed, not sent yet
        return place(customer, service, **fields)


def test_a_held_order_is_not_relayed_until_released(
    routed_service, simulator, django_capture_on_commit_callbacks, staff
):  # R-AUP-2
    customer = funded_customer(deposited="10")
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    hold = order_hold(order_id=order.pk, reason="Reported as harassment", actor=staff)
    order_relay(order_id=order.pk)
    order.refresh_from_db()
    # The staff-only note says why: a hold, not an inactive account (R-ACC-5's note).
    assert (order.status, order.relay_state, order.relay_error) == (
        "pending", RelayState.QUEUED, INVESTIGATION_NOTE,
    )  # fmt: skip
    assert simulator.adds_received == 0
    assert order.events.filter(note__contains="Reported as harassment", staff_only=True).exists()
    assert order.events.get(note=INVESTIGATION_NOTE).staff_only
    assert not order.events.filter(note=HELD_NOTE).exists()

    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold=hold, note="Checked: a fan page", actor=staff)
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert simulator.adds_received == 1
    assert [e.new_status for e in hold.events.all()] == ["open", "released"]


def test_rejecting_a_held_order_cancels_it_with_a_full_return(
    routed_service, simulator, django_capture_on_commit_callbacks, staff, assert_ledger_ok
):  # R-AUP-2
    customer = funded_customer(deposited="10")
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    hold = order_hold(order_id=order.pk, reason="Phishing link", actor=staff)
    hold_reject(hold=hold, note="Confirmed phishing", actor=staff)
    order.refresh_from_db()
    assert order.status == "canceled"
    assert order.refunded == order.charge
    assert Hold.objects.get(pk=hold.pk).status == "rejected"
    with pytest.raises(HoldRefused):
        hold_release(hold=hold, note="too late", actor=staff)


def test_an_account_on_hold_cannot_order_and_its_key_is_refused(
    client, routed_service, simulator, django_capture_on_commit_callbacks, staff
):  # R-AUP-2, R-KEY-3
    customer = funded_customer(deposited="10")
    _, key = api_key_issue(user=customer)
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    hold = account_hold(user=customer, reason="Many chargebacks from linked cards", actor=staff)

    order_relay(order_id=order.pk)  # its unsent order waits
    order.refresh_from_db()
    assert (order.relay_state, order.relay_error) == (RelayState.QUEUED, INVESTIGATION_NOTE)
    assert simulator.adds_received == 0

    assert api_key_user(key=key) is None  # R-KEY-3: an error, not a crash
    response = client.post("/api/v2", {"key": key, "action": "balance"})
    assert (response.status_code, response.json()) == (200, {"error": "Invalid API key"})

    client.force_login(customer)
    page = client.get("/orders/new/")
    assert page.status_code == 403
    assert "under review" in page.content.decode()
    balance_before = customer.ledger_accounts.get(kind="deposited").balance

    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold=hold, note="Cleared", actor=staff)
    assert api_key_user(key=key) == customer
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert customer.ledger_accounts.get(kind="deposited").balance == balance_before


def test_account_hold_ends_in_suspension_or_closure(staff, customer):  # R-AUP-2
    hold = account_hold(user=customer, reason="Investigation", actor=staff)
    with pytest.raises(HoldRefused):
        account_hold(user=customer, reason="Twice", actor=staff)
    hold_reject(hold=hold, note="Fraud confirmed", actor=staff)
    customer.refresh_from_db()
    assert customer.status == "suspended"
    hold = account_hold(user=customer, reason="Again", actor=staff)
    hold_cancel(hold=hold, note="Closed for good", actor=staff)
    customer.refresh_from_db()
    assert customer.status == "closed"


def test_a_hold_needs_a_reason_and_an_open_order(staff, routed_service):  # R-AUP-2
    customer = funded_customer(deposited="10")
    order = place(customer, routed_service)
    with pytest.raises(HoldRefused):
        order_hold(order_id=order.pk, reason=" ", actor=staff)
    Order.objects.filter(pk=order.pk).update(status="completed")
    with pytest.raises(HoldRefused):
        order_hold(order_id=order.pk, reason="Too late", actor=staff)


def test_admin_opens_a_hold_through_the_service(client, staff, customer):  # R-AUP-2
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    response = client.post(
        "/admin/legal/hold/add/", {"user": customer.pk, "order": "", "reason": "Abuse report"}
    )
    assert response.status_code == 302
    hold = Hold.objects.get(user=customer)
    assert hold.is_account_hold
    assert hold.opened_by == staff
    assert hold.events.get().note == "Abuse report"


def test_staff_hold_orders_from_the_orders_admin(client, staff, routed_service):  # R-AUP-2
    from allauth.mfa.models import Authenticator

    customer = funded_customer(deposited="10")
    order = place(customer, routed_service)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    form = {"action": "hold_for_investigation", "_selected_action": [order.pk]}
    asked = client.post("/admin/orders/order/", form)
    assert asked.status_code == 200  # the reason is asked for first
    client.post("/admin/orders/order/", {**form, "apply": "1", "reason": "Abuse report #12"})
    hold = Hold.objects.get(order=order)
    assert (hold.reason, hold.opened_by, hold.status) == ("Abuse report #12", staff, "open")


def test_review_notes_are_kept_as_evidence(staff, customer):  # R-AUP-2
    hold = account_hold(user=customer, reason="Report #7", actor=staff)
    hold_note(hold=hold, note="Checked the links: two are private", actor=staff)
    hold_release(hold=hold, note="Nothing wrong", actor=staff)
    with pytest.raises(HoldRefused):
        hold_note(hold=hold, note="late", actor=staff)
    assert [(e.old_status, e.new_status, e.note) for e in hold.events.all()] == [
        ("", "open", "Report #7"),
        ("open", "open", "Checked the links: two are private"),
        ("open", "released", "Nothing wrong"),
    ]


def test_a_held_order_cannot_be_canceled_by_the_customer(
    routed_service, simulator, django_capture_on_commit_callbacks, staff, client
):  # R-AUP-2: nothing of a held order's money moves until staff finish
    from billing.selectors import balance_get
    from orders.exceptions import CancelRefused
    from orders.services import order_cancel_request

    customer = funded_customer(deposited="10")
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    before = balance_get(user=customer).total
    order_hold(order_id=order.pk, reason="Reported as harassment", actor=staff)
    with pytest.raises(CancelRefused, match="under review"):
        order_cancel_request(user=customer, order=order)
    order.refresh_from_db()
    assert (order.status, order.refunded) == ("pending", 0)
    assert balance_get(user=customer).total == before


def test_an_account_on_hold_cannot_cancel_orders_or_close_itself(
    routed_service, simulator, django_capture_on_commit_callbacks, staff
):  # R-AUP-2, R-ACC-6
    from billing.exceptions import ClosureRefused
    from billing.selectors import balance_get
    from billing.services.closure import account_close
    from orders.exceptions import CancelRefused
    from orders.services import order_cancel_request

    customer = funded_customer(deposited="10")
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    before = balance_get(user=customer)
    account_hold(user=customer, reason="Many chargebacks from linked cards", actor=staff)
    with pytest.raises(CancelRefused, match="under review"):
        order_cancel_request(user=customer, order=order)
    with pytest.raises(ClosureRefused, match="under review"):
        account_close(user=customer, confirmation=customer.username)
    customer.refresh_from_db()
    assert customer.status == "active"
    assert balance_get(user=customer) == before


def test_the_customer_sees_no_hold_note(
    client, routed_service, simulator, django_capture_on_commit_callbacks, staff
):  # R-AUP-2: the why of a hold is for staff; the customer's order page shows none of it
    customer = funded_customer(deposited="10")
    order = _queued(customer, routed_service, django_capture_on_commit_callbacks)
    order_hold(order_id=order.pk, reason="Reported as harassment", actor=staff)
    order_relay(order_id=order.pk)
    client.force_login(customer)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert str(order.pk) in page
    for secret in ("Reported as harassment", INVESTIGATION_NOTE, "investigation", "R-AUP-2"):
        assert secret not in page


@pytest.mark.parametrize("hold_on", ["order", "account"])
def test_an_order_the_provider_has_is_still_polled_while_on_hold(
    hold_on, routed_service, simulator, django_capture_on_commit_callbacks, staff, settings
):  # R-AUP-2: a hold stops relaying; the provider's status updates still come in
    settings.ORDERS_POLL_SECONDS = 0
    simulator.step_seconds = 1000  # nothing moves unless forced
    customer = funded_customer(deposited="10")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer, routed_service)
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    if hold_on == "order":
        order_hold(order_id=order.pk, reason="Reported as spam", actor=staff)
    else:
        account_hold(user=customer, reason="Chargebacks", actor=staff)

    simulator.force_status(order.provider_order_id, "In progress", remains=600)
    assert orders_poll() == 1
    order.refresh_from_db()
    assert (order.status, order.remains) == ("in_progress", 600)

    simulator.force_status(order.provider_order_id, "Completed", remains=0)
    Order.objects.filter(pk=order.pk).update(poll_due_at=order.created_at)
    assert orders_poll() == 1
    order.refresh_from_db()
    assert (order.status, order.remains) == ("completed", 0)
    assert Hold.objects.get(user=customer).status == "open"  # the hold stays for staff
