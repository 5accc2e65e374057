"""Refills (R-ORD-13, R-ORD-12, R-CAT-5): who may ask, the request, its status and staff's part.

A refill request is tied to the order (not the link) and has its own status: Pending,
In progress, Completed, Rejected. Its moves are data (``orders.models.REFILL_TRANSITIONS``)
and go through ``refill_transition``, which writes a history line. Eligibility is
``refill_refusal``: refill services only, never beta (R-CAT-5) or overlapped (R-ORD-12)
orders, while the refill period is open, once the order is Completed, one open request at
a time and ``ORDERS_REFILL_PER_DAY`` requests per order in 24 hours. A drip-feed parent has
no refill of its own: each portion is an order at its provider, refilled there with its own
count rule and its own daily limit, so the parent is no second way round the limit. Whether
the count dropped (current count below Start Count + quantity and at or above Start Count) is
decided with the count: the provider's when it refills (its answer), staff's for manual services
(``refill_staff_approve`` checks it: ``refill_count_allows``).

Sending to the provider and polling its ``refill_status`` is the relay's part
(``orders.services.relay.refill``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from orders.exceptions import (
    InvalidTransition,
    RefillDisabled,
    RefillRefused,
    StaffActionRefused,
)
from orders.models import (
    REFILL_RELAY_TRANSITIONS,
    REFILL_TRANSITIONS,
    Order,
    OrderEvent,
    Refill,
    RefillEvent,
    RefillRelay,
    RefillStatus,
    RefillUnsupported,
)
from smmpanel.outage import enqueue_on_commit

Cause = OrderEvent.Cause
DAY = timedelta(days=1)
OPEN = (RefillStatus.PENDING, RefillStatus.IN_PROGRESS)


def refill_window_end(order: Order) -> datetime | None:
    """When the refill period of a Completed order ends (from its snapshot, R-CAT-2)."""
    if order.completed_at is None or order.status != Order.Status.COMPLETED:
        return None
    return order.completed_at + timedelta(days=order.refill_days)


def _no_refill(order: Order) -> RefillRefused | None:
    """The order has no refill at all (R-CAT-5, R-ORD-13, R-ORD-12, a route without refills)."""
    if order.beta:  # R-CAT-5
        return RefillDisabled(gettext("Beta services carry no refill."))
    if not order.refill or order.refill_days <= 0:
        return RefillDisabled(gettext("This service has no refill."))
    if order.overlapped:  # R-ORD-12
        return RefillDisabled(
            gettext("This order overlapped another order on the same link, so it has no refill.")
        )
    if order.is_dripfeed_parent:  # R-ORD-10: each portion is an order of its own at a provider
        portions = ", ".join(
            f"#{pk}"
            for pk in order.portions.filter(portion__isnull=False, status=Order.Status.COMPLETED)
            .order_by("portion")
            .values_list("pk", flat=True)
        )
        return RefillDisabled(
            gettext(
                "A drip-feed order is refilled portion by portion: ask for the refill of each "
                "completed portion (%(portions)s) on its own page."
            )
            % {"portions": portions or gettext("none yet")}
        )
    if (
        order.provider_service_id is not None
        and RefillUnsupported.objects.filter(provider_service_id=order.provider_service_id).exists()
    ):
        return RefillDisabled(
            gettext("Refill is not available for this service now; contact support.")
        )
    return None


def _not_now(order: Order, now: datetime) -> RefillRefused | None:
    """The order has refill, but not now (R-ORD-13): not Completed, period over, the limit."""
    if order.status != Order.Status.COMPLETED:
        return RefillRefused(gettext("Refill opens once the order is Completed."))
    end = refill_window_end(order)
    if end is None or now >= end:
        return RefillDisabled(
            gettext("The refill period of %(days)s days ended on %(end)s UTC.")
            % {"days": order.refill_days, "end": f"{end:%Y-%m-%d %H:%M}" if end else ""}
        )
    if order.refills.filter(status__in=OPEN).exists():
        return RefillRefused(gettext("A refill of this order is already being worked on."))
    limit = settings.ORDERS_REFILL_PER_DAY
    recent = list(
        order.refills.filter(created_at__gt=now - DAY)
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    if len(recent) >= limit:
        again = recent[len(recent) - limit] + DAY
        return RefillRefused(
            (
                gettext("An order can be refilled once a day; try again after %(again)s UTC.")
                if limit == 1
                else gettext(
                    "An order can be refilled %(limit)s times a day; try again after %(again)s UTC."
                )
            )
            % {"limit": limit, "again": f"{again:%Y-%m-%d %H:%M}"}
        )
    return None


def refill_refusal(*, order: Order, now: datetime | None = None) -> RefillRefused | None:
    """Why ``order`` cannot be refilled now (R-ORD-13), or None when a request is allowed."""
    return _no_refill(order) or _not_now(order, now or timezone.now())


def refill_count_allows(*, order: Order, current: int) -> str:
    """R-ORD-13's count rule: '' when ``current`` allows a refill, else why not."""
    if order.start_count is None:
        return "The order has no start count, so its end count is unknown."
    end = order.start_count + order.quantity
    if current >= end:
        return f"The count {current} is not below the end count {end}: nothing dropped."
    if current < order.start_count:
        return f"The count {current} is below the start count {order.start_count}."
    return ""


def refill_relay_move(*, refill: Refill, new: str, error: str | None = None) -> None:
    """Move a locked refill's relay state to ``new`` (the caller saves), checked against
    ``REFILL_RELAY_TRANSITIONS``; ``error`` replaces the staff-facing note when given."""
    old = refill.relay_state
    if new != old and new not in REFILL_RELAY_TRANSITIONS[old]:
        raise InvalidTransition(
            f"Refill #{refill.pk} is {RefillRelay(old).label.lower()}; "
            f"it cannot become {RefillRelay(new).label.lower()}."
        )
    refill.relay_state = new
    if error is not None:
        refill.relay_error = error[:1000]


def refill_transition(
    *, refill: Refill, new: str, cause: str, actor=None, note: str = "", staff_only=False
) -> RefillEvent:
    """Move a locked refill to ``new`` (checked against ``REFILL_TRANSITIONS``) and save it,
    with its history line. Other changed fields of ``refill`` are saved with it."""
    old = refill.status
    if new not in REFILL_TRANSITIONS[old]:
        raise InvalidTransition(
            f"Refill #{refill.pk} is {RefillStatus(old).label}; "
            f"it cannot become {RefillStatus(new).label}."
        )
    refill.status = new
    if not REFILL_TRANSITIONS[new]:
        refill.completed_at = timezone.now()
        refill.due_at = None
        refill_relay_move(refill=refill, new=RefillRelay.DONE)
    refill.save()
    return RefillEvent.objects.create(
        refill=refill, old_status=old, new_status=new, cause=cause, actor=actor,
        note=note[:500], staff_only=staff_only,
    )  # fmt: skip


def refill_note(*, refill: Refill, note: str, cause: str = Cause.SYSTEM, staff_only=True) -> None:
    RefillEvent.objects.create(
        refill=refill, old_status=refill.status, new_status=refill.status, cause=cause,
        note=note[:500], staff_only=staff_only,
    )  # fmt: skip


def refill_request(*, user, order: Order) -> Refill:
    """The customer asks to refill ``order`` (R-ORD-13); raises ``RefillRefused``.

    A provider-placed order's refill goes to its provider after commit; one without a
    provider order (a manual service) waits for staff. ``Order.DoesNotExist`` for someone
    else's order.
    """
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(no_key=True, of=("self",))
            .select_related("provider")
            .get(pk=order.pk, user=user)
        )
        refusal = refill_refusal(order=order)
        if refusal is not None:
            raise refusal
        to_provider = order.provider_id is not None and order.provider_order_id is not None
        try:
            with transaction.atomic():
                refill = Refill.objects.create(
                    order=order,
                    user=user,
                    provider=order.provider if to_provider else None,
                    relay_state=RefillRelay.QUEUED if to_provider else RefillRelay.MANUAL,
                    due_at=timezone.now() if to_provider else None,
                )
        except IntegrityError:  # a concurrent request won the one open refill
            raise RefillRefused(
                gettext("A refill of this order is already being worked on.")
            ) from None
        RefillEvent.objects.create(
            refill=refill, new_status=RefillStatus.PENDING, cause=Cause.CUSTOMER, actor=user,
            note="Requested." if to_provider else "Requested; staff check the count.",
        )  # fmt: skip
        if to_provider:
            from orders.tasks import refill_send_task

            enqueue_on_commit(refill_send_task, refill.pk)  # broker down: its due_at sends it
    return refill


def refill_list_notes(*, orders: Iterable[Order], now: datetime | None = None) -> dict[int, str]:
    """For the Orders list, in one query: among ``orders`` whose refill period is open
    (``Order.refill_until``), why the Refill button does not show, by order id ('' when it
    shows): a parent (its portions or cycles are refilled), a refill already open, or the
    requests per day used up (R-ORD-13). ``refill_request`` decides the rest when clicked."""
    now = now or timezone.now()
    notes = {order.pk: "" for order in orders if order.refill_until}
    for order in orders:
        if order.pk in notes and order.relay_state == Order.RelayState.PARENT:
            notes[order.pk] = gettext("Refilled per portion")
    asked = (
        Refill.objects.filter(order_id__in=[pk for pk, note in notes.items() if not note])
        .order_by()
        .values("order_id")
        .annotate(
            open=Count("pk", filter=Q(status__in=OPEN)),
            recent=Count("pk", filter=Q(created_at__gt=now - DAY)),
        )
        .filter(Q(open__gt=0) | Q(recent__gte=settings.ORDERS_REFILL_PER_DAY))
    )
    for row in asked:
        notes[row["order_id"]] = (
            gettext("Refill in progress") if row["open"] else gettext("Daily refill limit reached")
        )
    return notes


def refill_can_request(order: Order) -> bool:
    """Whether the Refill button shows on ``order``."""
    return refill_refusal(order=order) is None


# --- staff (admin actions call these) ---------------------------------------------------------
def _staff_refill(refill_id: int) -> Refill:
    refill = (
        Refill.objects.select_for_update(of=("self",)).select_related("order").get(pk=refill_id)
    )
    if refill.is_final:
        raise StaffActionRefused(f"Refill #{refill.pk} is already {refill.get_status_display()}.")
    return refill


def refill_staff_approve(*, refill_id: int, actor, current_count: int) -> Refill:
    """Staff found the order's current count: a refill starts if R-ORD-13 allows it, else it
    is rejected with the reason."""
    with transaction.atomic():
        refill = _staff_refill(refill_id)
        if refill.status != RefillStatus.PENDING:
            raise StaffActionRefused(f"Refill #{refill.pk} is not waiting for approval.")
        refill.current_count = current_count
        why = refill_count_allows(order=refill.order, current=current_count)
        if why:
            refill.reason = why
            refill_transition(
                refill=refill, new=RefillStatus.REJECTED, cause=Cause.STAFF, actor=actor, note=why
            )
        else:
            refill_relay_move(refill=refill, new=RefillRelay.MANUAL)
            refill_transition(
                refill=refill, new=RefillStatus.IN_PROGRESS, cause=Cause.STAFF, actor=actor,
                note=f"Count {current_count}: refilling.",
            )  # fmt: skip
    return refill


def refill_staff_complete(*, refill_id: int, actor, note: str = "") -> Refill:
    with transaction.atomic():
        refill = _staff_refill(refill_id)
        refill_transition(
            refill=refill, new=RefillStatus.COMPLETED, cause=Cause.STAFF, actor=actor,
            note=note or "Refilled.",
        )  # fmt: skip
    return refill


def refill_staff_reject(*, refill_id: int, actor, reason: str) -> Refill:
    if not reason.strip():
        raise StaffActionRefused("Give the reason; the customer sees it.")
    with transaction.atomic():
        refill = _staff_refill(refill_id)
        if refill.relay_state == RefillRelay.SENDING:
            raise StaffActionRefused(f"Refill #{refill.pk} is being sent; try again shortly.")
        refill.reason = reason[:500]
        refill_transition(
            refill=refill, new=RefillStatus.REJECTED, cause=Cause.STAFF, actor=actor, note=reason
        )
    return refill


def refill_reconcile(*, refill_id: int, actor, provider_refill_id: int) -> Refill:
    """Staff found at the provider the refill of an ambiguous ``refill`` call: poll it."""
    with transaction.atomic():
        refill = _staff_refill(refill_id)
        if refill.relay_state != RefillRelay.RECONCILE:
            raise StaffActionRefused(f"Refill #{refill.pk} is not waiting for reconciliation.")
        refill.provider_refill_id = provider_refill_id
        refill_relay_move(refill=refill, new=RefillRelay.SENT)
        refill.due_at = timezone.now()
        refill.save()
        refill_note(refill=refill, note=f"Reconciled: the provider's refill {provider_refill_id}.")
    return refill
