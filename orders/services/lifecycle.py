"""An order's life after placement: status moves, returns, cancel, and staff actions.

Every status change goes through ``order_transition`` (the moves allowed are data:
``orders.models.TRANSITIONS``) and leaves a history line with its cause (R-ORD-16). A
return happens in the same transaction as the move to Partial or Canceled, on the locked
order row, and a final status never moves again, so a return is applied exactly once; the
ledger's idempotency key on the return is the backstop (R-ORD-7, R-ORD-8).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.ledger import Split
from billing.models import RefKind
from billing.money import ZERO, quantize
from billing.selectors import spend_unreturned
from billing.services import funds_return, split_return
from catalog.models import Service
from orders.exceptions import CancelRefused, InvalidTransition, StaffActionRefused
from orders.models import (
    FINAL_STATUSES,
    RELAY_TRANSITIONS,
    TRANSITIONS,
    Order,
    OrderEvent,
    RelayState,
)
from smmpanel.outage import enqueue_on_commit

Status = Order.Status
Cause = OrderEvent.Cause


def orders_locking():
    """Orders to lock for a change: the order row only (``OF self``), never the customer or
    service rows joined in, and ``NO KEY UPDATE`` so new history lines need not wait."""
    return Order.objects.select_for_update(no_key=True, of=("self",)).select_related(
        "service", "user"
    )


def _locked(order_id: int) -> Order:
    return orders_locking().get(pk=order_id)


def order_event_add(
    *,
    order: Order,
    note: str,
    cause: str,
    actor=None,
    staff_only: bool = False,
) -> OrderEvent:
    """A history line that is not a status change (a cancel request, a relay note)."""
    return OrderEvent.objects.create(
        order=order,
        old_status=order.status,
        new_status=order.status,
        cause=cause,
        actor=actor,
        note=note[:500],
        staff_only=staff_only,
    )


def order_transition(
    *, order: Order, new: str, cause: str, actor=None, note: str = ""
) -> OrderEvent:
    """Move ``order`` (locked by the caller, inside its transaction) to ``new`` and save it.

    Refuses a move ``TRANSITIONS`` does not allow (``InvalidTransition``); writes the
    history line (R-ORD-16). Other changed fields of ``order`` are saved with it.
    """
    old = order.status
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(
            f"Order #{order.pk} is {Status(old).label}; it cannot become {Status(new).label}."
        )
    order.status = new
    if new in FINAL_STATUSES:
        order.completed_at = timezone.now()
        order.poll_due_at = None
        order.next_attempt_at = None
    order.save()
    if new in (Status.COMPLETED, Status.PARTIAL) and order.portion is None:
        from support.services import claim_window_open  # R-ORD-14 (a portion's is its parent's)

        claim_window_open(order=order)
    event = OrderEvent.objects.create(
        order=order, old_status=old, new_status=new, cause=cause, actor=actor, note=note[:500]
    )
    if order.parent_id is not None and order.portion is not None:
        dripfeed_parent_sync(parent_id=order.parent_id)  # R-ORD-10: the parent follows
    return event


def dripfeed_parent_sync(*, parent_id: int) -> Order:
    """A drip-feed parent's status, start count and remains follow its portions (R-ORD-10).

    Pending until a portion starts; In progress while any portion is unfinished; at the end
    Completed (all delivered), Canceled (nothing delivered) or Partial, with ``remains`` the
    undelivered part of the whole order. The returns were made portion by portion (and by a
    stop), so the parent's final move returns nothing more. Locks the parent (after the
    portion: the lock order of every caller).
    """
    parent = orders_locking().get(pk=parent_id)
    if parent.status in FINAL_STATUSES:
        return parent
    portions = list(
        Order.objects.filter(parent_id=parent_id)
        .order_by("pk")
        .values_list("status", "quantity", "remains", "start_count")
    )
    undelivered = 0
    for status, quantity, remains, _start_count in portions:
        if status == Status.COMPLETED:
            continue
        if status == Status.PENDING or remains is None:
            undelivered += quantity
        else:
            undelivered += remains
    parent.remains = min(undelivered, parent.quantity)
    if parent.start_count is None:
        parent.start_count = next((row[3] for row in portions if row[3] is not None), None)
    if portions and all(row[0] in FINAL_STATUSES for row in portions):
        if parent.remains == 0:
            new = Status.COMPLETED
        elif parent.remains >= parent.quantity:
            new = Status.CANCELED
        else:
            new = Status.PARTIAL
        order_transition(order=parent, new=new, cause=Cause.SCHEDULE, note="All portions ended.")
    elif parent.status == Status.PENDING and any(
        row[0] not in (Status.PENDING, Status.CANCELED) for row in portions
    ):
        order_transition(order=parent, new=Status.IN_PROGRESS, cause=Cause.SCHEDULE)
    else:
        parent.save(update_fields=["remains", "start_count", "updated_at"])
    return parent


def relay_move(*, order: Order, new: str, error: str | None = None) -> None:
    """Move ``order``'s relay state to ``new`` (the caller saves, inside its transaction).

    Refuses a move ``RELAY_TRANSITIONS`` does not allow (``InvalidTransition``). ``error``,
    when given, replaces the staff-facing note of why the relay is where it is. A move to a
    state that is not *sending* ends any send lease.
    """
    old = order.relay_state
    if new != old and new not in RELAY_TRANSITIONS[old]:
        raise InvalidTransition(
            f"Order #{order.pk} is {RelayState(old).label.lower()}; "
            f"it cannot become {RelayState(new).label.lower()}."
        )
    order.relay_state = new
    if new != RelayState.SENDING:
        order.lease_until = None
    if new == RelayState.RECONCILE and old != RelayState.RECONCILE:
        order.reconcile_since, order.reconcile_alerted_at = timezone.now(), None
    elif new != RelayState.RECONCILE:
        order.reconcile_since = order.reconcile_alerted_at = None
    if error is not None:
        order.relay_error = error[:1000]


def _payer(order: Order) -> Order:
    """Whose charge a return comes from: a drip-feed portion's money is its parent's."""
    if order.parent_id is not None and order.portion is not None:
        return Order.objects.get(pk=order.parent_id)
    return order


def order_return_post(*, payer: Order, amount: Decimal, why: str, idempotency_key: str) -> Decimal:
    """Give ``amount`` of ``payer``'s charge back to the sources it was paid from, in the
    proportions paid (R-ORD-7/8); returns the amount posted (rounded to the ledger)."""
    amount = quantize(amount)
    if amount <= 0:
        return ZERO
    paid = Split(promotional=payer.paid_promotional or ZERO, deposited=payer.paid_deposited or ZERO)
    left = spend_unreturned(user=payer.user, ref_kind=RefKind.ORDER, ref_id=payer.pk)
    returned = Split(
        promotional=paid.promotional - left.promotional, deposited=paid.deposited - left.deposited
    )
    split = split_return(amount=amount, paid=paid, returned=returned)
    funds_return(
        user=payer.user,
        split=split,
        memo=f"Order #{payer.pk}: {why}"[:255],
        ref_kind=RefKind.ORDER,
        ref_id=payer.pk,
        idempotency_key=idempotency_key,
    )
    return amount


def relay_move_bulk(*, queryset, old: str, new: str, **fields) -> int:
    """Move many orders' relay state from ``old`` to ``new`` in one UPDATE (the batch paths:
    drip-feed release and stop), checked against ``RELAY_TRANSITIONS`` like ``relay_move``."""
    if new not in RELAY_TRANSITIONS[old]:
        raise InvalidTransition(f"A relay state cannot move from {old} to {new}.")
    return queryset.filter(relay_state=old).update(relay_state=new, lease_until=None, **fields)


def _order_return(*, order: Order, amount: Decimal, why: str) -> None:
    """Give ``amount`` of the charge back to the sources it was paid from (R-ORD-7/8)."""
    amount = quantize(amount)
    if amount <= 0:
        return
    payer = _payer(order)
    if payer.pk != order.pk:
        why = f"portion #{order.pk} {why}"
    key = f"order:{order.pk}:return:{order.status}"
    order_return_post(payer=payer, amount=amount, why=why, idempotency_key=key)
    order.refunded = quantize(order.refunded + amount)
    Order.objects.filter(pk=order.pk).update(refunded=order.refunded)
    if payer.pk != order.pk:
        Order.objects.filter(pk=payer.pk).update(refunded=F("refunded") + amount)


def partial_return_amount(*, order: Order, remains: int) -> Decimal:
    """R-ORD-7: the undelivered part, charge x remains / quantity, rounded to the ledger."""
    return min(quantize(order.charge * remains / order.quantity), order.charge - order.refunded)


def _order_end_notice(*, order: Order, amount: Decimal) -> None:
    """Tell the customer an order ended Partial or Canceled and what came back (issue 14):
    an in-account notice, mailed after commit unless they switched these mails off. A
    drip-feed portion is told through its parent order, not one notice per portion."""
    from django.urls import reverse
    from django.utils.translation import gettext_noop

    from accounts.notices import notice_text
    from accounts.services import notice_send
    from billing.money import usd_text

    if order.parent_id is not None:
        return
    params = {
        "number": order.pk,
        "service": order.service_name,
        "returned": usd_text(max(quantize(amount), Decimal(0))),
    }
    if order.status == Status.PARTIAL:
        subject = notice_text(
            gettext_noop("Order #%(number)s ended Partial: %(returned)s returned"), **params
        )
        body = notice_text(
            gettext_noop(
                "Order #%(number)s (%(service)s) was delivered in part: %(remains)s of "
                "%(quantity)s were not delivered. %(returned)s came back to your balance."
            ),
            **params,
            remains=order.remains,
            quantity=order.quantity,
        )
    else:
        subject = notice_text(
            gettext_noop("Order #%(number)s was canceled: %(returned)s returned"), **params
        )
        body = notice_text(
            gettext_noop(
                "Order #%(number)s (%(service)s) was canceled. %(returned)s came back to your "
                "balance."
            ),
            **params,
        )
    notice_send(
        user=order.user,
        kind=f"order_{order.status}",
        subject=subject,
        body=body,
        url=reverse("orders:detail", args=[order.pk]),
    )


def order_finish(
    *,
    order: Order,
    status: str,
    cause: str,
    actor=None,
    note: str = "",
    remains: int | None = None,
) -> OrderEvent:
    """Move a locked order to a final status with the matching return (R-ORD-7, R-ORD-8).

    Completed returns nothing; Partial returns charge x remains / quantity; Canceled
    returns the whole charge. Each to the funding sources in the proportions paid.
    """
    if order.relay_state == RelayState.STUCK:
        relay_move(order=order, new=RelayState.PLACED)  # it ended: no longer stuck
    if status == Status.COMPLETED:
        order.remains = 0
        return order_transition(order=order, new=status, cause=cause, actor=actor, note=note)
    if status == Status.PARTIAL:
        if remains is None:
            raise StaffActionRefused("A Partial order needs the quantity that remains.")
        remains = max(0, min(int(remains), order.quantity))
        order.remains = remains
        event = order_transition(order=order, new=status, cause=cause, actor=actor, note=note)
        amount = partial_return_amount(order=order, remains=remains)
        _order_return(order=order, amount=amount, why=f"partial, {remains} undelivered")
        _order_end_notice(order=order, amount=amount)
        return event
    if status == Status.CANCELED:
        if remains is not None:
            order.remains = max(0, min(int(remains), order.quantity))
        elif order.remains is None:
            order.remains = order.quantity
        event = order_transition(order=order, new=status, cause=cause, actor=actor, note=note)
        amount = order.charge - order.refunded
        _order_return(order=order, amount=amount, why="canceled")
        _order_end_notice(order=order, amount=amount)
        return event
    raise ValueError(f"not a final status: {status}")


def order_cancel_now(*, order: Order, cause: str, actor=None, note: str = "") -> OrderEvent:
    """Cancel a locked order with a full return; an order no provider has is closed."""
    if order.relay_state != RelayState.PLACED:
        relay_move(order=order, new=RelayState.CLOSED)
    return order_finish(order=order, status=Status.CANCELED, cause=cause, actor=actor, note=note)


def _relay_cancel_on_commit(order: Order) -> None:
    from orders.tasks import order_cancel_relay_task

    enqueue_on_commit(order_cancel_relay_task, order.pk)  # broker down: the poll asks again


# --- the customer ---------------------------------------------------------------------------
def order_cancel_request(*, user, order: Order) -> None:
    """The customer asks to cancel (R-ORD-6): only while Pending, on services that allow it.

    An order no provider has yet is canceled at once with a full return. One the provider
    has is asked to cancel there; the return follows when the provider reports it
    Canceled (not guaranteed). Asking twice changes nothing. Raises ``CancelRefused``;
    someone else's order raises ``Order.DoesNotExist``. On a drip-feed order it stops the
    portions not yet sent (R-ORD-10, ``dripfeed_stop``). A held order (or one of a held
    account) moves no money until staff finish the review (R-AUP-2).
    """
    from legal.selectors import order_held

    if order_held(order=order):
        raise CancelRefused(
            _("This order is under review, so it can't be canceled until staff finish it.")
        )
    if order.is_dripfeed_parent:
        from orders.services.relay.drip import dripfeed_stop

        dripfeed_stop(user=user, order=order)
        return
    if order.is_subscription:
        from orders.services.relay.subscription import subscription_cancel

        subscription_cancel(user=user, order=order)  # R-ORD-11
        return
    with transaction.atomic():
        order = orders_locking().get(pk=order.pk, user=user)
        if order.status in FINAL_STATUSES:
            raise CancelRefused(
                _("This order is already %(status)s.") % {"status": order.get_status_display()}
            )
        if order.status != Status.PENDING:
            raise CancelRefused(_("This order has started, so it can no longer be canceled."))
        if not order.can_cancel:
            raise CancelRefused(_("This service does not allow cancel."))
        if order.cancel_requested_at is not None:
            return
        if order.relay_state in (RelayState.QUEUED, RelayState.FAILED, RelayState.MANUAL):
            order_cancel_now(
                order=order, cause=Cause.CUSTOMER, actor=user, note="Canceled at your request."
            )
            return
        order.cancel_requested_at = timezone.now()
        order.save(update_fields=["cancel_requested_at", "updated_at"])
        order_event_add(
            order=order,
            cause=Cause.CUSTOMER,
            actor=user,
            note="Cancel requested; the provider decides (not guaranteed).",
        )
        if order.relay_state in (RelayState.PLACED, RelayState.STUCK):
            _relay_cancel_on_commit(order)
        # SENDING or RECONCILE: the relay acts on the request once it knows where the order is.


def order_can_be_canceled_by_customer(order: Order) -> bool:
    """Whether the Cancel button shows (R-ORD-6)."""
    return (
        order.status == Status.PENDING
        and order.can_cancel
        and order.cancel_requested_at is None
        and order.relay_state != RelayState.PARENT
    )


# --- staff (admin actions call these) ---------------------------------------------------------
def _staff_order(order_id: int) -> Order:
    order = _locked(order_id)
    if order.relay_state == RelayState.PARENT:
        raise StaffActionRefused(
            f"Order #{order.pk} follows its parts (drip-feed portions or subscription cycles): "
            "act on those, or cancel it."
        )
    if order.status in FINAL_STATUSES:
        raise StaffActionRefused(f"Order #{order.pk} is already {order.get_status_display()}.")
    if order.relay_state == RelayState.SENDING:
        # Its add is on the wire: acting now could cancel what the provider is placing.
        raise StaffActionRefused(f"Order #{order.pk} is being sent right now; try again shortly.")
    return order


def order_staff_cancel(*, order_id: int, actor, reason: str) -> Order:
    """Staff cancel an order with a full return (R-ORD-8, R-ORD-9); a provider is told.

    A drip-feed order is canceled portion by portion (each returns its part; the parent
    follows); a subscription stops its cycles (cycles already ordered are orders of their own).
    """
    order = Order.objects.get(pk=order_id)
    if order.is_dripfeed_parent:
        if order.status in FINAL_STATUSES:
            raise StaffActionRefused(f"Order #{order.pk} is already {order.get_status_display()}.")
        portions = order.portions.exclude(status__in=FINAL_STATUSES).values_list("pk", flat=True)
        for portion_id in list(portions):
            try:
                order_staff_cancel(order_id=portion_id, actor=actor, reason=reason)
            except StaffActionRefused:
                continue  # being sent right now, or ended meanwhile
        return Order.objects.get(pk=order_id)
    if order.is_subscription:
        from orders.services.relay.subscription import subscription_cancel

        try:
            subscription_cancel(user=order.user, order=order, actor=actor, note=reason)
        except CancelRefused as refusal:
            raise StaffActionRefused(refusal.message) from None
        return Order.objects.get(pk=order_id)
    with transaction.atomic():
        order = _staff_order(order_id)
        if order.relay_state == RelayState.STUCK:
            relay_move(order=order, new=RelayState.PLACED)  # the provider has it: tell it
        placed = order.relay_state == RelayState.PLACED
        order_cancel_now(order=order, cause=Cause.STAFF, actor=actor, note=reason)
        if placed:
            _relay_cancel_on_commit(order)
    return order


def order_staff_partial(*, order_id: int, remains: int, actor, reason: str) -> Order:
    """Staff mark an order Partial: the undelivered part returns (R-ORD-7)."""
    with transaction.atomic():
        order = _staff_order(order_id)
        if not 0 <= remains <= order.quantity:
            raise StaffActionRefused(f"Remains must be between 0 and {order.quantity}.")
        order_finish(
            order=order,
            status=Status.PARTIAL,
            cause=Cause.STAFF,
            actor=actor,
            note=reason,
            remains=remains,
        )
    return order


def order_staff_progress(
    *,
    order_id: int,
    status: str,
    actor,
    start_count: int | None = None,
    remains: int | None = None,
    note: str = "",
) -> Order:
    """Staff move an order they deliver by hand (a manual service): In progress, Completed."""
    if status not in (Status.IN_PROGRESS, Status.PROCESSING, Status.COMPLETED):
        raise StaffActionRefused("Use cancel or Partial for those; they return money.")
    with transaction.atomic():
        order = _staff_order(order_id)
        if start_count is not None:
            order.start_count = start_count  # R-ORD-5
        if remains is not None:
            order.remains = max(0, min(remains, order.quantity))
        if status == Status.COMPLETED:
            order_finish(order=order, status=status, cause=Cause.STAFF, actor=actor, note=note)
        elif status != order.status:
            if order.remains is None:
                order.remains = order.quantity
            order_transition(order=order, new=status, cause=Cause.STAFF, actor=actor, note=note)
        else:
            order.save()
    return order


def order_mark_overlapped(*, order_id: int, actor, reason: str) -> Order:
    """Staff found that the order overlapped another one on the same link (R-ORD-12): it was
    placed elsewhere too, or the provider reports the link busy with another order. The panel
    refuses the overlaps it can see at placement (R-ORD-3), so it never sets this itself.

    From now on the order has no refill (R-ORD-13, ``refill_refusal``) and no claims (R-ORD-14,
    ``claim_check``); a drip-feed parent's portions are marked with it. The reason is written in
    the order's history, where the customer sees it. Raises ``StaffActionRefused``.
    """
    if not reason.strip():
        raise StaffActionRefused("Give the reason; the customer sees it.")
    with transaction.atomic():
        order = _locked(order_id)
        if order.overlapped:
            raise StaffActionRefused(f"Order #{order.pk} is already marked overlapped.")
        order.overlapped = True
        order.save(update_fields=["overlapped", "updated_at"])
        Order.objects.filter(parent_id=order.pk, portion__isnull=False).update(overlapped=True)
        order_event_add(
            order=order,
            cause=Cause.STAFF,
            actor=actor,
            note=f"Overlapped another order on the same link, so no refill or claims: {reason}",
        )
    return order


def order_resend(*, order_id: int, actor) -> Order:
    """Staff send again an order that failed to send, or that they found the provider lacks."""
    with transaction.atomic():
        order = _staff_order(order_id)
        if order.relay_state not in (
            RelayState.FAILED,
            RelayState.RECONCILE,
            RelayState.MANUAL,
            RelayState.STUCK,
        ):
            raise StaffActionRefused(
                f"Order #{order.pk} is {order.get_relay_state_display().lower()}; "
                "only failed, unreconciled or manual orders are resent."
            )
        if order.status != Status.PENDING:
            raise StaffActionRefused("Only a Pending order is resent.")
        relay_move(order=order, new=RelayState.QUEUED, error="")
        order.provider = None
        order.provider_service = None
        order.provider_order_id = None
        order.routes_tried = []
        order.relay_attempts = 0
        order.next_attempt_at = None
        order.save()
        order_event_add(
            order=order, cause=Cause.STAFF, actor=actor, note="Resent by staff.", staff_only=True
        )
        from orders.tasks import order_relay_task

        enqueue_on_commit(order_relay_task, order.pk)  # broker down: the relay sweep sends it
    return order


def order_reconcile(*, order_id: int, provider_order_id: int, actor) -> Order:
    """Staff found the order of an ambiguous ``add`` at the provider: record its id."""
    with transaction.atomic():
        order = _staff_order(order_id)
        if order.relay_state != RelayState.RECONCILE or order.provider_id is None:
            raise StaffActionRefused(f"Order #{order.pk} is not waiting for reconciliation.")
        if provider_order_id < 1:
            raise StaffActionRefused("Give the provider's order id.")
        clash = (
            Order.objects.filter(provider_id=order.provider_id, provider_order_id=provider_order_id)
            .exclude(pk=order.pk)
            .first()
        )
        if clash is not None:
            raise StaffActionRefused(
                f"The provider's order {provider_order_id} already belongs to order #{clash.pk}."
            )
        now = timezone.now()
        order.provider_order_id = provider_order_id
        relay_move(order=order, new=RelayState.PLACED, error="")
        order.sent_at = order.sent_at or now
        order.poll_due_at = now
        order.save()
        order_event_add(
            order=order,
            cause=Cause.STAFF,
            actor=actor,
            note=f"Reconciled: the provider's order {provider_order_id}.",
            staff_only=True,
        )
        if order.cancel_requested_at is not None:
            _relay_cancel_on_commit(order)
    return order


def orders_cancel_pricing_error(*, service_id: int, actor, note: str = "") -> int:
    """R-CAT-4: cancel, with a full return, the unfinished orders of a service flagged with a
    pricing error and placed before the flag. One transaction per order; returns how many."""
    service = Service.objects.get(pk=service_id)
    if service.pricing_error_at is None:
        raise StaffActionRefused(f"Service #{service.pk} is not flagged with a pricing error.")
    reason = note or f"Pricing error on the service: {service.pricing_error_note}".strip()
    ids = list(
        Order.objects.filter(service_id=service.pk, created_at__lte=service.pricing_error_at)
        .exclude(status__in=FINAL_STATUSES)
        .values_list("pk", flat=True)
    )
    count = 0
    for order_id in ids:
        try:
            order_staff_cancel(order_id=order_id, actor=actor, reason=reason[:500])
        except StaffActionRefused:
            continue  # it became final meanwhile
        count += 1
    return count
