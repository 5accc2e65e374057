"""Ambiguous sends that wait too long for staff (issue 9, R-ORD-9).

An ``add`` whose answer was not clear (a timeout, a 5xx, a broken body) waits in
``relay_state="reconcile"``: it is never sent again blind. Staff settle it on the
"ambiguous orders" screen (resend, record the provider's order id, or cancel with a full
return). Any order that waits longer than ``ORDERS_RECONCILE_ALERT_MINUTES`` is reported to
staff once (a staff notice in the admin and a mail), by the beat task ``orders.reconcile_alert``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalog.models import StaffNotice
from catalog.services import staff_notify
from orders.models import FINAL_STATUSES, Order, RelayState


def orders_reconcile_alert(*, limit: int = 500) -> list[int]:
    """Alert staff, once per order, about ambiguous orders waiting longer than the setting.
    Returns the ids reported. Safe to run concurrently (rows claimed with SKIP LOCKED)."""
    now = timezone.now()
    waited = now - timedelta(minutes=settings.ORDERS_RECONCILE_ALERT_MINUTES)
    with transaction.atomic():
        orders = list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(
                relay_state=RelayState.RECONCILE,
                reconcile_since__lte=waited,
                reconcile_alerted_at__isnull=True,
            )
            .exclude(status__in=FINAL_STATUSES)
            .select_related("provider")
            .order_by("reconcile_since")[:limit]
        )
        if not orders:
            return []
        Order.objects.filter(pk__in=[order.pk for order in orders]).update(reconcile_alerted_at=now)
        notices = [
            StaffNotice(
                kind=StaffNotice.Kind.RECONCILE_WAIT,
                provider=order.provider,
                message=(
                    f"Order #{order.pk} ({getattr(order.provider, 'name', 'no provider')})"
                    f" has waited for reconciliation since {order.reconcile_since:%Y-%m-%d %H:%M}"
                    f" UTC: {order.relay_error or 'ambiguous send'}. Resend it, record the"
                    " provider's order id, or cancel it with a full return."
                ),
            )
            for order in orders
        ]
        count = len(orders)
        staff_notify(
            notices=notices,
            subject=f"{count} order{'s' if count != 1 else ''} waiting for reconciliation",
        )
    return [order.pk for order in orders]
