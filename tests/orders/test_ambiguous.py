"""Issue 9, item 4: ambiguous provider answers (R-ORD-9, API_V2.md "As a client of providers").

A 5xx on ``add`` leaves the order waiting for reconciliation, never re-sent blind; the customer
sees an honest note; staff get one screen per provider with resend / reconcile / cancel, and
an alert (notice + mail), once per order, when one waits longer than the setting.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.selectors import balance_get
from catalog.models import StaffNotice
from orders.models import Order
from orders.services.reconcile import orders_reconcile_alert
from orders.services.relay import orders_relay_due
from tests.catalog.factories import ProviderServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal
RelayState = Order.RelayState


@pytest.fixture
def customer():
    return funded_customer(deposited="20")


@pytest.fixture
def ambiguous(customer, routed_service, simulator, django_capture_on_commit_callbacks):
    """An order whose add the provider placed, then answered 503."""
    simulator.inject("http_error", action="add", status=503, times=1, process=True)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer, routed_service, quantity=1000)
    order.refresh_from_db()
    return order


def test_a_503_after_placing_is_never_sent_again(
    ambiguous, simulator, settings, django_capture_on_commit_callbacks
):  # R-ORD-9
    assert (ambiguous.status, ambiguous.relay_state) == ("pending", RelayState.RECONCILE)
    assert ambiguous.reconcile_since is not None
    settings.ORDERS_RELAY_LOST_AFTER_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        orders_relay_due()
    assert (simulator.adds_received, simulator.orders_placed) == (1, 1)
    assert Order.objects.get(pk=ambiguous.pk).relay_state == RelayState.RECONCILE


def test_the_customer_sees_an_honest_note_and_the_api_a_contract_status(
    client, customer, ambiguous
):
    client.force_login(customer)
    detail = client.get(f"/orders/{ambiguous.pk}/").content.decode()
    assert 'id="order-being-checked"' in detail
    assert "being checked with the provider" in detail
    listing = client.get("/orders/").content.decode()
    assert "Being checked with the provider" in listing
    from accounts.services import api_key_issue

    key = api_key_issue(user=customer)[1]
    status = client.post("/api/v2", {"key": key, "action": "status", "order": ambiguous.pk})
    assert status.json()["status"] == "Pending"  # a contract status, never "reconcile"


def test_no_note_for_an_order_sent_cleanly(client, customer, routed_service):
    order = place(customer, routed_service, quantity=1000)
    client.force_login(customer)
    assert "order-being-checked" not in client.get(f"/orders/{order.pk}/").content.decode()


@pytest.fixture
def second_ambiguous(sim_provider_b, customer, routed_service):
    """An order of another provider waiting for reconciliation."""
    order = place(customer, routed_service, quantity=500, link="https://www.instagram.com/b/")
    route = ProviderServiceFactory(service=routed_service, provider=sim_provider_b, priority=5)
    Order.objects.filter(pk=order.pk).update(
        relay_state=RelayState.RECONCILE,
        provider=sim_provider_b,
        provider_service=route,
        reconcile_since=timezone.now(),
    )
    return order


def _action(staff_client, action, ids, **fields):
    url = "/admin/orders/reconcileorder/"
    return staff_client.post(url, {"action": action, "_selected_action": ids, **fields})


def test_staff_screen_groups_ambiguous_orders_by_provider(
    staff_client, ambiguous, second_ambiguous, customer, routed_service
):
    clean = place(customer, routed_service, quantity=300, link="https://www.instagram.com/c/")
    page = staff_client.get("/admin/orders/reconcileorder/").content.decode()
    assert 'id="reconcile-per-provider"' in page
    assert page.count('class="reconcile-provider"') == 2  # Simulator, Simulator B
    assert f"/admin/orders/reconcileorder/{ambiguous.pk}/change/" in page
    assert f"/admin/orders/reconcileorder/{second_ambiguous.pk}/change/" in page
    assert f"/admin/orders/reconcileorder/{clean.pk}/change/" not in page


def test_staff_record_the_providers_order_id(staff_client, ambiguous, simulator):
    remote = simulator.orders_placed  # the simulator's ids start at 1 and count up
    done = _action(
        staff_client, "reconcile", [ambiguous.pk], apply="1", provider_order_id=str(remote)
    )
    assert done.status_code == 302
    ambiguous.refresh_from_db()
    assert (ambiguous.relay_state, ambiguous.reconcile_since) == (RelayState.PLACED, None)


def test_staff_resend_one_the_provider_lacks(
    staff_client, customer, routed_service, simulator, django_capture_on_commit_callbacks
):
    simulator.inject("http_error", action="add", status=502, times=1, process=False)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer, routed_service, quantity=1000)
    assert Order.objects.get(pk=order.pk).relay_state == RelayState.RECONCILE
    with django_capture_on_commit_callbacks(execute=True):
        _action(staff_client, "resend", [order.pk])
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert (simulator.adds_received, simulator.orders_placed) == (2, 1)  # staff decided


def test_staff_cancel_with_a_full_return(staff_client, ambiguous, customer):  # R-ORD-9
    _action(staff_client, "cancel_with_return", [ambiguous.pk], apply="1", reason="not there")
    ambiguous.refresh_from_db()
    assert (ambiguous.status, ambiguous.refunded) == ("canceled", D("1.20"))
    assert balance_get(user=customer).deposited == D("20.00")


def test_staff_are_alerted_once_when_one_waits_too_long(
    ambiguous, settings, mailoutbox, django_capture_on_commit_callbacks
):
    StaffFactory(email="ops@example.com")
    settings.ORDERS_RECONCILE_ALERT_MINUTES = 30
    assert orders_reconcile_alert() == []  # not yet waiting long enough
    Order.objects.filter(pk=ambiguous.pk).update(
        reconcile_since=timezone.now() - timedelta(minutes=31)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert orders_reconcile_alert() == [ambiguous.pk]
    assert [mail.to for mail in mailoutbox] == [["ops@example.com"]]
    assert "waiting for reconciliation" in mailoutbox[0].subject
    notice = StaffNotice.objects.get(kind=StaffNotice.Kind.RECONCILE_WAIT)
    assert f"Order #{ambiguous.pk}" in notice.message
    assert orders_reconcile_alert() == []  # once per order
    assert StaffNotice.objects.filter(kind=StaffNotice.Kind.RECONCILE_WAIT).count() == 1
