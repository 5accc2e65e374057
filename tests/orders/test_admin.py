"""The staff's admin: actions call the services, with an intermediate form where needed."""

from decimal import Decimal

import pytest

from billing.selectors import balance_get
from catalog.services import service_flag_pricing_error
from orders.models import BlockedPattern, Order
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def order():
    service = ServiceFactory(rate=D("2.00"), min_quantity=10, cancel=True)
    return place(funded_customer(deposited="5"), service, quantity=1000)


def _action(staff_client, url, action, ids, **fields):
    return staff_client.post(url, {"action": action, "_selected_action": ids, **fields})


def test_order_pages_open_and_are_read_only(staff_client, order):
    assert staff_client.get("/admin/orders/order/").status_code == 200
    page = staff_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert "Placed on the New Order page." in page.content.decode()
    assert staff_client.get("/admin/orders/order/add/").status_code == 403
    assert staff_client.get("/admin/orders/staffqueueorder/").status_code == 200
    assert staff_client.get("/admin/orders/flaggedservice/").status_code == 200


def test_cancel_asks_for_a_reason_then_returns_everything(staff_client, order):  # R-ORD-8
    url = "/admin/orders/order/"
    page = _action(staff_client, url, "cancel_with_return", [order.pk])
    assert page.status_code == 200
    assert 'name="reason"' in page.content.decode()
    assert f"1 order: #{order.pk} (Pending, $2.00)" in page.content.decode()
    assert Order.objects.get().status == "pending"

    done = _action(staff_client, url, "cancel_with_return", [order.pk], apply="1", reason="dup")
    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.refunded) == ("canceled", D("2.00"))
    event = order.events.last()
    assert (event.cause, event.actor, event.note) == ("staff", staff_client.staff, "dup")
    assert balance_get(user=order.user).deposited == D("5.00")


def test_mark_partial_takes_the_remains(staff_client, order):  # R-ORD-7
    url = "/admin/orders/order/"
    _action(staff_client, url, "mark_partial", [order.pk], apply="1", reason="short",
            remains="100")  # fmt: skip
    order.refresh_from_db()
    assert (order.status, order.remains, order.refunded) == ("partial", 100, D("0.20"))


def test_staff_queue_lists_manual_orders_and_marks_them_delivered(staff_client, order):
    Order.objects.filter(pk=order.pk).update(relay_state="manual")
    queue = staff_client.get("/admin/orders/staffqueueorder/").content.decode()
    assert f"/admin/orders/staffqueueorder/{order.pk}/change/" in queue
    url = "/admin/orders/staffqueueorder/"
    _action(staff_client, url, "mark_in_progress", [order.pk], apply="1", start_count="77")
    _action(staff_client, url, "mark_completed", [order.pk])
    order.refresh_from_db()
    assert (order.status, order.start_count, order.remains) == ("completed", 77, 0)
    queue = staff_client.get("/admin/orders/staffqueueorder/").content.decode()
    assert f"/admin/orders/staffqueueorder/{order.pk}/change/" not in queue


def test_refused_actions_say_why(staff_client, order):
    response = _action(staff_client, "/admin/orders/order/", "resend", [order.pk])
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("only failed, unreconciled or manual orders are resent" in m for m in messages)


def test_pricing_error_bulk_cancel_from_the_admin(staff_client, order):  # R-CAT-4
    service_flag_pricing_error(service=order.service, note="0.002", actor=staff_client.staff)
    listing = staff_client.get("/admin/orders/flaggedservice/").content.decode()
    assert '<td class="field-unfinished">1</td>' in listing
    _action(staff_client, "/admin/orders/flaggedservice/", "cancel_orders", [order.service_id])
    order.refresh_from_db()
    assert (order.status, order.refunded) == ("canceled", D("2.00"))


def test_blocked_patterns_refuse_bad_regular_expressions(staff_client):  # R-AUP-1
    response = staff_client.post(
        "/admin/orders/blockedpattern/add/", {"kind": "regex", "pattern": "([", "enabled": "on"}
    )
    assert "Not a valid regular expression" in response.content.decode()
    staff_client.post(
        "/admin/orders/blockedpattern/add/",
        {"kind": "keyword", "pattern": "forbidden", "enabled": "on"},
    )
    assert BlockedPattern.objects.get().pattern == "forbidden"
