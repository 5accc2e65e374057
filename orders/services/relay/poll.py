"""Polling: the providers' multi-status, 100 orders a call, applied to each order."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import Provider
from catalog.provider_client import MAX_IDS_PER_CALL, ProviderClient
from orders.models import ACTIVE_STATUSES, FINAL_STATUSES, Order, OrderEvent, RelayState
from orders.services.lifecycle import (
    dripfeed_parent_sync,
    order_event_add,
    order_finish,
    order_transition,
    orders_locking,
    relay_move,
)
from orders.services.relay.common import count_parse, lease, seconds

logger = logging.getLogger(__name__)

Status = Order.Status
Cause = OrderEvent.Cause

# The relay states whose orders are polled: placed, and stuck (Pending there too long).
POLLED_STATES = (RelayState.PLACED, RelayState.STUCK)

# R-ORD-4: the provider's status strings (any case, either spelling) to ours.
PROVIDER_STATUSES = {
    "pending": Status.PENDING,
    "in progress": Status.IN_PROGRESS,
    "in_progress": Status.IN_PROGRESS,
    "inprogress": Status.IN_PROGRESS,
    "processing": Status.PROCESSING,
    "completed": Status.COMPLETED,
    "complete": Status.COMPLETED,
    "partial": Status.PARTIAL,
    "canceled": Status.CANCELED,
    "cancelled": Status.CANCELED,
    "refunded": Status.CANCELED,
}


def order_provider_status_apply(*, order_id: int, provider_id: int, data: dict) -> Order | None:
    """Apply one provider status answer to an order (R-ORD-4, R-ORD-5, R-ORD-7, R-ORD-8).

    Safe to run twice, concurrently or late: the order is locked, a final order never
    changes, and only an order placed with this provider is touched.
    """
    now = timezone.now()
    with transaction.atomic():
        order = (
            orders_locking()
            .filter(pk=order_id, provider_id=provider_id, relay_state__in=POLLED_STATES)
            .first()
        )
        if order is None or order.status in FINAL_STATUSES:
            return order
        order.polled_at = now
        order.poll_due_at = now + seconds(settings.ORDERS_POLL_SECONDS)
        if "error" in data:
            relay_move(
                order=order, new=RelayState.RECONCILE, error=f"The provider says: {data['error']}"
            )
            order.poll_due_at = None
            order.save()
            order_event_add(
                order=order, cause=Cause.PROVIDER, note=order.relay_error, staff_only=True
            )
            return order
        new = PROVIDER_STATUSES.get(str(data.get("status", "")).strip().lower())
        if new is None:
            order.save(update_fields=["polled_at", "poll_due_at"])
            logger.warning("order %s: unknown provider status %r", order.pk, data.get("status"))
            return order
        _unstick(order=order, new=new, said=data.get("status"))
        remains = count_parse(data.get("remains"))
        if remains is not None:
            remains = min(remains, order.quantity)
        start_count = count_parse(data.get("start_count"))
        if order.start_count is None and new != Status.PENDING and start_count is not None:
            order.start_count = start_count  # R-ORD-5: recorded when it starts
        note = "Canceled as you requested." if order.cancel_requested_at else ""
        if new in FINAL_STATUSES:
            if new == Status.PARTIAL and remains is None:
                remains = order.remains if order.remains is not None else 0
            order_finish(
                order=order,
                status=new,
                cause=Cause.PROVIDER,
                note=note if new == Status.CANCELED else "",
                remains=remains,
            )
            return order
        if remains is not None and new != Status.PENDING:
            order.remains = remains  # R-ORD-5: tracked until it ends
        if new == Status.PENDING:
            _stuck_check(order=order, now=now)
            _cancel_lost_check(order=order)
        if new != order.status and new in ACTIVE_STATUSES and new != Status.PENDING:
            order_transition(order=order, new=new, cause=Cause.PROVIDER)
        else:
            order.save()
            if order.portion is not None:
                dripfeed_parent_sync(parent_id=order.parent_id)  # the whole order's remains
        return order


def _unstick(*, order: Order, new: str, said) -> None:
    """A stuck order the provider moves after all goes back to *placed*."""
    if order.relay_state == RelayState.STUCK and new != Status.PENDING:
        relay_move(order=order, new=RelayState.PLACED, error="")
        order_event_add(
            order=order,
            cause=Cause.PROVIDER,
            note=f"No longer stuck: the provider says {said}.",
            staff_only=True,
        )


def _stuck_check(*, order: Order, now) -> None:
    """An order the provider still calls Pending ``ORDERS_PROVIDER_PENDING_MAX_HOURS`` after it
    took it goes to the staff queue (relay state *stuck*, the reason in ``relay_error``); it is
    still polled, and goes back to *placed* if the provider moves it after all."""
    if order.relay_state != RelayState.PLACED or order.status != Status.PENDING:
        return
    limit = timedelta(hours=settings.ORDERS_PROVIDER_PENDING_MAX_HOURS)
    since = order.sent_at or order.created_at
    if now - since <= limit:
        return
    hours = settings.ORDERS_PROVIDER_PENDING_MAX_HOURS
    relay_move(
        order=order,
        new=RelayState.STUCK,
        error=(
            f"Still Pending at the provider (its order {order.provider_order_id}) "
            f"{hours:g} hours after it took it; it may be failed or waiting there. "
            "Ask the provider, cancel, or resend."
        ),
    )
    order_event_add(order=order, cause=Cause.SYSTEM, note=order.relay_error, staff_only=True)


def _cancel_lost_check(*, order: Order) -> None:
    """A cancel requested but never sent (its message was lost while the broker was down):
    ask the provider now (R-ORD-6). Asking twice is harmless (``order_cancel_relay``)."""
    if order.cancel_requested_at is not None and order.cancel_sent_at is None:
        from orders.services.lifecycle import _relay_cancel_on_commit

        _relay_cancel_on_commit(order)


def _poll_claim(*, provider_id: int, now) -> list[tuple[int, int]]:
    """Claim up to 100 due orders of one provider: (order id, provider's order id)."""
    with transaction.atomic():
        rows = list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(provider_id=provider_id, poll_due_at__lte=now, provider_order_id__isnull=False)
            .order_by("poll_due_at")
            .values_list("pk", "provider_order_id")[:MAX_IDS_PER_CALL]
        )
        if rows:
            Order.objects.filter(pk__in=[pk for pk, _ in rows]).update(poll_due_at=now + lease())
    return cast("list[tuple[int, int]]", rows)  # provider_order_id is not null (filter)


def _poll_batch(*, provider: Provider, rows: list[tuple[int, int]], client=None) -> int:
    client = client or ProviderClient(provider)
    result = client.multi_status([remote for _, remote in rows])
    if not result.ok:
        retry_at = timezone.now() + seconds(settings.ORDERS_POLL_SECONDS)
        Order.objects.filter(pk__in=[pk for pk, _ in rows]).update(poll_due_at=retry_at)
        logger.warning("poll of %s failed: %s", provider.name, result.error)
        return 0
    applied = 0
    for order_id, remote in rows:
        data = result.data.get(remote)
        if not isinstance(data, dict):
            continue  # not answered this time: due again when the lease ends
        order_provider_status_apply(order_id=order_id, provider_id=provider.pk, data=data)
        applied += 1
    return applied


def orders_poll(*, max_batches: int | None = None) -> int:
    """Beat: poll the due orders of every provider in batches of 100; returns how many were
    answered. Two pollers at once split the work between them (SKIP LOCKED)."""
    max_batches = max_batches or settings.ORDERS_POLL_MAX_BATCHES
    now = timezone.now()
    provider_ids = (
        Order.objects.filter(poll_due_at__lte=now)
        .order_by()
        .values_list("provider_id", flat=True)
        .distinct()
    )
    providers = Provider.objects.in_bulk(list(provider_ids))
    answered = batches = 0
    for provider in providers.values():
        while batches < max_batches:
            rows = _poll_claim(provider_id=provider.pk, now=now)
            if not rows:
                break
            batches += 1
            answered += _poll_batch(provider=provider, rows=rows)
    return answered
