"""Claim windows (R-ORD-14, R-WDR-6, R-ORD-12, R-CAT-5).

When an order ends Completed or Partial, ``claim_window_open`` writes its due row: claims
(a ticket about a problem with the order) are accepted until ``closes_at``, i.e.
``SUPPORT_CLAIM_WINDOW_DAYS`` later. The beat task ``support.claim_windows_close`` closes
windows whose time has passed, in batches claimed with ``SKIP LOCKED``. ``claim_check`` decides
from the clock itself, so a claim is refused the moment the window ends even before the beat
has marked it. An overlapped order (R-ORD-12) and a beta service (R-CAT-5) have no claims.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from orders.models import Order
from support.exceptions import ClaimRefused
from support.models import ClaimWindow

CLAIMABLE_STATUSES = (Order.Status.COMPLETED, Order.Status.PARTIAL)


def claim_window_open(*, order: Order) -> ClaimWindow | None:
    """The order's claim window from now (idempotent); none for a beta service (R-CAT-5)."""
    if order.status not in CLAIMABLE_STATUSES or order.beta:
        return None
    ended = order.completed_at or timezone.now()
    window, _ = ClaimWindow.objects.get_or_create(
        order=order,
        defaults={
            "opened_at": ended,
            "closes_at": ended + timedelta(days=settings.SUPPORT_CLAIM_WINDOW_DAYS),
        },
    )
    return window


def claim_check(*, order: Order, now: datetime | None = None) -> ClaimWindow:
    """The order's open claim window, or ``ClaimRefused`` saying why there is none."""
    now = now or timezone.now()
    params = {"number": order.pk}
    if order.overlapped:  # R-ORD-12
        raise ClaimRefused(
            gettext(
                "Order #%(number)s overlapped another order on the same link, so it has no claims."
            )
            % params
        )
    if order.beta:  # R-CAT-5
        raise ClaimRefused(
            gettext("Order #%(number)s is of a beta service; beta services carry no claims.")
            % params
        )
    if order.status not in CLAIMABLE_STATUSES:
        raise ClaimRefused(
            gettext(
                "Order #%(number)s is %(status)s: a claim can be made once it is Completed or "
                "Partial. Ask a question about it instead."
            )
            % {**params, "status": order.get_status_display()}
        )
    window = ClaimWindow.objects.filter(order=order).first()
    if window is None:
        raise ClaimRefused(gettext("Order #%(number)s has no claim window.") % params)
    if window.closed_at is not None or now >= window.closes_at:  # R-ORD-14, R-WDR-6
        closed = timezone.localtime(window.closes_at).strftime("%Y-%m-%d %H:%M %Z")
        raise ClaimRefused(
            gettext(
                "The claim window of Order #%(number)s closed on %(closed)s (%(days)s days after "
                "it ended); no claim or refund can be considered for it any more."
            )
            % {**params, "closed": closed, "days": settings.SUPPORT_CLAIM_WINDOW_DAYS}
        )
    return window


def claim_windows_close(*, now: datetime | None = None, batch: int | None = None) -> int:
    """Close every claim window whose time has passed; returns how many. Safe to run in
    parallel: each batch is claimed with ``FOR UPDATE SKIP LOCKED``."""
    now = now or timezone.now()
    batch = batch or settings.SUPPORT_CLAIM_CLOSE_BATCH
    closed = 0
    while True:
        with transaction.atomic():
            ids = list(
                ClaimWindow.objects.select_for_update(skip_locked=True)
                .filter(closed_at__isnull=True, closes_at__lte=now)
                .order_by("closes_at")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return closed
            closed += ClaimWindow.objects.filter(id__in=ids).update(closed_at=now)
