"""Asking a provider to cancel an order (R-ORD-6), once."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from catalog.provider_client import Outcome, ProviderClient
from orders.models import FINAL_STATUSES, Order, OrderEvent, RelayState
from orders.services.lifecycle import order_event_add, orders_locking
from orders.services.relay.common import count_parse

Cause = OrderEvent.Cause


def order_cancel_relay(*, order_id: int) -> None:
    """Ask the provider to cancel an order whose customer (or staff) asked for it (R-ORD-6)."""
    order = (
        Order.objects.select_related("provider")
        .filter(pk=order_id, relay_state__in=(RelayState.PLACED, RelayState.STUCK))
        .exclude(provider_order_id=None)
        .first()
    )
    if order is None or (order.status not in FINAL_STATUSES and order.cancel_requested_at is None):
        return
    # Asked once: the first run to stamp the order asks; a second run (a redelivered task,
    # a double click) finds it stamped and does nothing.
    if not Order.objects.filter(pk=order_id, cancel_sent_at=None).update(
        cancel_sent_at=timezone.now()
    ):
        return
    result = ProviderClient(order.provider).cancel([order.provider_order_id])
    if not result.ok and result.outcome is Outcome.RETRY:
        # Nothing was decided at the provider: a later run may ask again.
        Order.objects.filter(pk=order_id).update(cancel_sent_at=None)
    accepted = False
    detail = result.error
    if result.ok:
        remote = order.provider_order_id
        answer: dict = next(
            (row for row in result.data if count_parse(row.get("order")) == remote), {}
        )
        accepted = str(answer.get("cancel")) == "1"
        if not accepted:
            cancel = answer.get("cancel")
            detail = cancel.get("error", "") if isinstance(cancel, dict) else "no answer"
    with transaction.atomic():
        order = orders_locking().get(pk=order_id)
        if order.status in FINAL_STATUSES:
            order_event_add(
                order=order,
                cause=Cause.SYSTEM,
                note=f"Provider told to cancel: {'accepted' if accepted else detail}.",
                staff_only=True,
            )
            return
        if accepted:
            order.poll_due_at = timezone.now()
            order.save(update_fields=["poll_due_at", "updated_at"])
            order_event_add(
                order=order,
                cause=Cause.PROVIDER,
                note="The provider accepted the cancel; the return follows its confirmation.",
            )
        else:
            order_event_add(
                order=order,
                cause=Cause.PROVIDER,
                note="The provider could not cancel this order.",
            )
            order_event_add(
                order=order, cause=Cause.SYSTEM, note=f"Cancel refused: {detail}", staff_only=True
            )
