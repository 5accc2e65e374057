"""Claim windows (R-ORD-14, R-WDR-6, R-ORD-12, R-CAT-5)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from support.exceptions import ClaimRefused
from support.models import ClaimWindow, Ticket
from support.services import claim_check, claim_windows_close, ticket_open
from support.tasks import claim_windows_close_task
from tests.orders.factories import OrderFactory
from tests.support.helpers import finish

pytestmark = pytest.mark.django_db


def _claim(user, order):
    return ticket_open(
        user=user,
        kind=Ticket.Kind.ORDER,
        subject="Not delivered",
        body="Nothing arrived.",
        order_ids=[order.pk],
        problem=Ticket.Problem.NON_DELIVERY,
    )


@pytest.mark.parametrize("status", [Order.Status.COMPLETED, Order.Status.PARTIAL])
def test_the_window_opens_when_the_order_ends_completed_or_partial(
    customer, settings, status
):  # R-ORD-14
    settings.SUPPORT_CLAIM_WINDOW_DAYS = 3
    order = finish(OrderFactory(user=customer), status)
    window = ClaimWindow.objects.get(order=order)
    assert window.closes_at - window.opened_at == timedelta(days=3)
    assert window.opened_at == order.completed_at
    assert window.closed_at is None


def test_no_window_for_canceled_or_beta_orders(customer):  # R-ORD-14, R-CAT-5
    order = OrderFactory(user=customer, beta=True)
    finish(order)
    assert not ClaimWindow.objects.filter(order=order).exists()
    with pytest.raises(ClaimRefused, match="beta services carry no claims"):
        _claim(customer, order)


def test_a_claim_before_the_order_ends_is_refused(customer):  # R-ORD-14
    order = OrderFactory(user=customer)
    with pytest.raises(ClaimRefused, match="once it is Completed or Partial"):
        _claim(customer, order)


def test_overlapped_orders_have_no_claims(customer):  # R-ORD-12
    order = finish(OrderFactory(user=customer))
    Order.objects.filter(pk=order.pk).update(overlapped=True)
    order.refresh_from_db()
    with pytest.raises(ClaimRefused, match="overlapped another order"):
        _claim(customer, order)


def test_claims_are_accepted_until_the_window_closes(customer):  # R-ORD-14, R-WDR-6
    order = finish(OrderFactory(user=customer))
    window = ClaimWindow.objects.get(order=order)
    # The boundary: the last instant before closes_at is inside, closes_at itself is not.
    assert claim_check(order=order, now=window.closes_at - timedelta(microseconds=1)) == window
    with pytest.raises(ClaimRefused, match="no claim or refund can be considered"):
        claim_check(order=order, now=window.closes_at)
    assert _claim(customer, order).is_claim
    ClaimWindow.objects.filter(pk=window.pk).update(closes_at=timezone.now())
    # Refused even before the beat has marked the window closed (R-WDR-6).
    with pytest.raises(ClaimRefused, match=f"The claim window of Order #{order.pk} closed"):
        _claim(customer, order)
    # A question about the order is still welcome.
    ticket_open(
        user=customer, kind=Ticket.Kind.ORDER, subject="Q", body="When?", order_ids=[order.pk]
    )


def test_the_expiry_task_closes_due_windows_only(customer):  # R-ORD-14
    due = [finish(OrderFactory(user=customer)) for _ in range(3)]
    later = finish(OrderFactory(user=customer))
    now = timezone.now()
    ClaimWindow.objects.filter(order__in=due).update(closes_at=now - timedelta(seconds=1))
    assert claim_windows_close_task.delay().get() == 3
    assert ClaimWindow.objects.filter(order__in=due, closed_at__isnull=False).count() == 3
    assert ClaimWindow.objects.get(order=later).closed_at is None
    assert claim_windows_close() == 0  # safe to run twice
    with pytest.raises(ClaimRefused):
        _claim(customer, due[0])


@pytest.mark.django_db(transaction=True)
def test_the_expiry_task_skips_windows_another_worker_holds(customer):  # R-ORD-14
    orders = [finish(OrderFactory(user=customer)) for _ in range(4)]
    ClaimWindow.objects.update(closes_at=timezone.now() - timedelta(minutes=1))
    held = ClaimWindow.objects.get(order=orders[0])
    locked, release = threading.Event(), threading.Event()

    def other_worker():
        with transaction.atomic():
            ClaimWindow.objects.select_for_update().get(pk=held.pk)
            locked.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(10)
    try:
        assert claim_windows_close(batch=2) == 3  # in batches, without waiting for the lock
    finally:
        release.set()
        thread.join()
    held.refresh_from_db()
    assert held.closed_at is None
    assert claim_windows_close() == 1


def test_the_order_page_says_whether_claims_are_open(client, customer):  # R-ORD-14
    order = finish(OrderFactory(user=customer))
    client.force_login(customer)
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "claims open until" in page
    ClaimWindow.objects.filter(order=order).update(closed_at=timezone.now())
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert "claim window closed" in page


def test_the_ticket_form_refuses_a_late_claim_with_the_reason(client, customer):  # R-WDR-6
    order = finish(OrderFactory(user=customer))
    ClaimWindow.objects.filter(order=order).update(closes_at=timezone.now())
    client.force_login(customer)
    response = client.post(
        reverse("support:new"),
        {
            "kind": "order",
            "subject": "Wrong quantity",
            "order_ids": str(order.pk),
            "problem": "wrong_quantity",
            "body": "Only half arrived.",
        },
    )
    assert response.status_code == 200
    assert "no claim or refund can be considered" in response.content.decode()
    assert not Ticket.objects.exists()


def test_a_refund_request_after_the_window_is_refused(customer):  # R-WDR-6
    order = finish(OrderFactory(user=customer))
    ClaimWindow.objects.filter(order=order).update(closes_at=timezone.now())
    with pytest.raises(ClaimRefused, match="no claim or refund can be considered"):
        ticket_open(
            user=customer, kind=Ticket.Kind.PAYMENT, subject="Refund please", body="Money back",
            order_ids=[order.pk], problem=Ticket.Problem.REFUND,
        )  # fmt: skip


def test_recent_orders_get_windows_when_the_support_app_arrives(customer, settings):  # R-ORD-14
    from importlib import import_module

    from django.apps import apps

    recent = finish(OrderFactory(user=customer))
    old = finish(OrderFactory(user=customer))
    ClaimWindow.objects.all().delete()
    Order.objects.filter(pk=old.pk).update(completed_at=timezone.now() - timedelta(days=4))
    import_module("support.migrations.0002_claim_windows_backfill").backfill(apps, None)
    window = ClaimWindow.objects.get()
    assert window.order_id == recent.pk
    assert window.closes_at == recent.completed_at + timedelta(days=3)
