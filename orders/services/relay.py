"""The relay: orders go to providers over API v2, and their status comes back (R-ORD-4, 5, 9).

Sending (``order_relay``). After placement commits, the order goes to the first-ranked
route of its service (``catalog.selectors.provider_services_ranked``). The order is
claimed (``SELECT ... FOR UPDATE SKIP LOCKED``) and marked *sending* with a lease before
the HTTP call, so no two workers send it and a worker that dies mid-call leaves a trace.
The provider's answer, as the provider client classifies it:

* OK: the provider's order id is stored (unique per provider); polling starts.
* RETRY: the order waits ``next_attempt_at`` (exponential backoff) and is tried again, up
  to ``ORDERS_RELAY_RETRIES`` times on a route; then the next route is tried. With no
  route left the order is *failed*: staff resend or cancel it.
* FINAL: the next route is tried at once; with none left the order is canceled with a
  full return (R-ORD-9: the panel could not do it).
* AMBIGUOUS (``add`` only): the provider may have the order. It is never sent again
  blind: it waits for staff to reconcile it (``order_reconcile``) or resend it. API v2
  has no lookup by our own reference, so no automatic lookup is possible.

A service with no provider route at all is a manual service: its orders wait in the staff
queue. Due retries and lost messages are picked up by the beat task ``orders_relay_due``.

Polling (``orders_poll``, beat). Orders placed with a provider are polled when their
``poll_due_at`` comes, through multi-status, in batches of at most 100 per provider. A
batch is claimed with ``SELECT ... FOR UPDATE SKIP LOCKED`` and leased (its due time moved
on) before the HTTP call, so concurrent pollers never take the same orders. Each answer
is applied to the locked order: the status mapped (R-ORD-4), the start count and remains
recorded (R-ORD-5), and Partial or Canceled returns applied exactly once (R-ORD-7, R-ORD-8).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import Provider, ProviderService, Service
from catalog.provider_client import MAX_IDS_PER_CALL, Outcome, ProviderClient, ProviderResult
from catalog.selectors import provider_services_ranked
from orders.models import ACTIVE_STATUSES, FINAL_STATUSES, Order, OrderEvent, RelayState
from orders.services.lifecycle import (
    order_cancel_now,
    order_event_add,
    order_finish,
    order_transition,
    orders_locking,
)
from orders.services.placement import PASS_THROUGH

logger = logging.getLogger(__name__)

Status = Order.Status
Cause = OrderEvent.Cause

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


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=float(value))


def _lease() -> timedelta:
    """How long a send or a poll may take before it counts as stuck."""
    return _seconds(settings.PROVIDER_TIMEOUT + settings.ORDERS_RELAY_GRACE_SECONDS)


def relay_backoff(attempt: int) -> timedelta:
    """The wait before retry ``attempt`` (1, 2, ...): doubling, capped."""
    base = settings.ORDERS_RELAY_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0))
    return _seconds(min(base, settings.ORDERS_RELAY_BACKOFF_MAX_SECONDS))


def _dispatch_relay(order_id: int) -> None:
    from orders.tasks import order_relay_task

    transaction.on_commit(lambda: order_relay_task.delay(order_id))


def order_add_fields(*, order: Order, route: ProviderService) -> dict:
    """The provider's ``add`` fields: the service, link, quantity and type fields only (R-PRV-4)."""
    fields: dict = {"service": route.remote_service_id, "link": order.link}
    extra = order.extra or {}
    if order.service_type == Service.Type.CUSTOM_COMMENTS:
        fields["comments"] = extra.get("comments", "")
    elif order.service_type != Service.Type.PACKAGE:
        if extra.get("runs"):
            fields.update(
                quantity=extra["quantity_per_run"], runs=extra["runs"], interval=extra["interval"]
            )
        else:
            fields["quantity"] = order.quantity
    fields.update({name: value for name, value in extra.items() if name in PASS_THROUGH})
    return fields


# --- sending -----------------------------------------------------------------------------------
def _next_route(order: Order) -> ProviderService | None:
    tried = set(order.routes_tried)
    for route in provider_services_ranked(service=order.service):
        if route.pk not in tried:
            return route
    return None


def _relay_claim(order_id: int) -> tuple[Order, ProviderService] | None:
    """Take a queued order for sending: mark it *sending* with a lease, pick its route.

    The row lock waits (briefly) rather than skips: a second message for the same order
    then finds it sending and stops, and none is lost to a lock held for another reason.
    """
    now = timezone.now()
    with transaction.atomic():
        order = orders_locking().filter(pk=order_id, relay_state=RelayState.QUEUED).first()
        if order is None or order.status != Status.PENDING:
            return None
        if order.next_attempt_at is not None and order.next_attempt_at > now:
            return None  # a retry that is not due yet
        if order.cancel_requested_at is not None:
            order_cancel_now(order=order, cause=Cause.CUSTOMER, note="Canceled at your request.")
            return None
        if not order.user.can_order:
            _relay_hold(order, now)  # R-ACC-5
            return None
        current = order.provider_service
        route = None
        if current is not None and current.pk not in order.routes_tried:
            route = next(
                (r for r in provider_services_ranked(service=order.service) if r.pk == current.pk),
                None,
            )
        if route is None:
            route = _next_route(order)
            order.relay_attempts = 0
        if route is None:
            _relay_no_route(order)
            return None
        order.provider_service = route
        order.provider = route.provider
        order.relay_state = RelayState.SENDING
        order.relay_attempts += 1
        order.next_attempt_at = None
        order.lease_until = now + _lease()
        order.save()
    return order, route


HELD_NOTE = "Held: the account is not active (R-ACC-5)."


def _relay_hold(order: Order, now) -> None:
    """Keep a suspended account's unsent order queued; the beat looks again later and
    ``orders_release_held`` sends it on as soon as the account is reinstated (R-ACC-5)."""
    order.next_attempt_at = now + _seconds(settings.ORDERS_HOLD_RECHECK_SECONDS)
    if order.relay_error != HELD_NOTE:
        order.relay_error = HELD_NOTE
        order_event_add(order=order, note=HELD_NOTE, cause=Cause.SYSTEM, staff_only=True)
    order.save(update_fields=["next_attempt_at", "relay_error", "updated_at"])


def orders_release_held(*, user) -> list[int]:
    """Send on the held orders of a reinstated account (R-ACC-5)."""
    with transaction.atomic():
        held = list(
            Order.objects.select_for_update(no_key=True, of=("self",))
            .filter(user=user, relay_state=RelayState.QUEUED, relay_error=HELD_NOTE)
            .values_list("pk", flat=True)
        )
        Order.objects.filter(pk__in=held).update(next_attempt_at=None, relay_error="")
        for order_id in held:
            _dispatch_relay(order_id)
    return held


def _relay_no_route(order: Order) -> None:
    """No route to try: a manual service goes to staff; otherwise the order failed."""
    if (
        not order.routes_tried
        and not ProviderService.objects.filter(service=order.service).exists()
    ):
        order.relay_state = RelayState.MANUAL
        order.relay_error = "Manual service: no provider route."
        order.save()
        order_event_add(
            order=order,
            cause=Cause.SYSTEM,
            note="Manual service: waiting for staff to deliver it.",
            staff_only=True,
        )
        return
    _relay_failed(order, "No usable provider route left (disabled, unavailable or above cost).")


def _relay_failed(order: Order, error: str) -> None:
    order.relay_state = RelayState.FAILED
    order.relay_error = error
    order.lease_until = None
    order.save()
    order_event_add(order=order, cause=Cause.SYSTEM, note=f"Relay failed: {error}", staff_only=True)
    logger.warning("order %s: relay failed: %s", order.pk, error)


def _route_given_up(order: Order, route_id: int, *, final: bool, error: str) -> None:
    """Move on to the next route, or end: failed (after retries) or canceled (refused)."""
    order.routes_tried = [*order.routes_tried, route_id]
    order.relay_attempts = 0
    order.lease_until = None
    order.relay_error = error
    following = _next_route(order)
    if following is not None:
        order.relay_state = RelayState.QUEUED
        order.provider_service = following
        order.provider = None
        order.next_attempt_at = None
        order.save()
        order_event_add(
            order=order,
            cause=Cause.SYSTEM,
            note=f"Failing over to {following.provider.name}: {error}",
            staff_only=True,
        )
        _dispatch_relay(order.pk)
    elif final:
        order.provider = None
        order_cancel_now(  # R-ORD-9
            order=order,
            cause=Cause.PROVIDER,
            note="The order could not be placed with a provider; the charge is returned.",
        )
    else:
        order.provider = None
        _relay_failed(order, error)


def _relay_record(*, order_id: int, route: ProviderService, result: ProviderResult) -> None:
    now = timezone.now()
    name = route.provider.name
    with transaction.atomic():
        order = orders_locking().get(pk=order_id)
        if order.relay_state != RelayState.SENDING or order.provider_service_id != route.pk:
            # The lease ran out and the sweep sent it to reconciliation; a late success
            # settles that here.
            if (
                result.ok
                and order.relay_state == RelayState.RECONCILE
                and order.provider_order_id is None
                and order.provider_id == route.provider_id
                and order.status not in FINAL_STATUSES
            ):
                _relay_placed(order, result.data["order"], name, now)
            return
        if result.ok:
            _relay_placed(order, result.data["order"], name, now)
        elif result.outcome is Outcome.AMBIGUOUS:
            order.relay_state = RelayState.RECONCILE
            order.lease_until = None
            order.relay_error = result.error
            order.save()
            order_event_add(
                order=order,
                cause=Cause.SYSTEM,
                note=f"{name} may have the order ({result.error}); it is not sent again "
                "until staff reconcile it.",
                staff_only=True,
            )
            logger.warning("order %s: ambiguous add at %s: %s", order.pk, name, result.error)
        elif result.outcome is Outcome.RETRY:
            if order.relay_attempts < settings.ORDERS_RELAY_RETRIES:
                order.relay_state = RelayState.QUEUED
                order.lease_until = None
                order.relay_error = result.error
                order.next_attempt_at = now + relay_backoff(order.relay_attempts)
                order.save()
                order_event_add(
                    order=order,
                    cause=Cause.SYSTEM,
                    note=f"{name}: {result.error} Retry {order.relay_attempts} of "
                    f"{settings.ORDERS_RELAY_RETRIES - 1} at {order.next_attempt_at:%H:%M:%S}.",
                    staff_only=True,
                )
            else:
                _route_given_up(order, route.pk, final=False, error=f"{name}: {result.error}")
        else:
            _route_given_up(order, route.pk, final=True, error=f"{name}: {result.error}")

        if (
            order.cancel_requested_at is not None
            and order.status == Status.PENDING
            and order.relay_state in (RelayState.QUEUED, RelayState.FAILED)
        ):
            order_cancel_now(order=order, cause=Cause.CUSTOMER, note="Canceled at your request.")


def _relay_placed(order: Order, provider_order_id: int, name: str, now) -> None:
    order.provider_order_id = provider_order_id
    order.relay_state = RelayState.PLACED
    order.lease_until = None
    order.relay_error = ""
    order.sent_at = now
    order.poll_due_at = now + _seconds(settings.ORDERS_POLL_SECONDS)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # The provider gave an id another order already has: staff must look.
        order.refresh_from_db()
        order.relay_state = RelayState.RECONCILE
        order.lease_until = None
        order.relay_error = f"{name} answered order id {provider_order_id}, already in use here."
        order.save()
        order_event_add(order=order, cause=Cause.SYSTEM, note=order.relay_error, staff_only=True)
        return
    order_event_add(
        order=order,
        cause=Cause.SYSTEM,
        note=f"Sent to {name}: its order {provider_order_id}.",
        staff_only=True,
    )
    if order.cancel_requested_at is not None:
        from orders.services.lifecycle import _relay_cancel_on_commit

        _relay_cancel_on_commit(order)


def _link_check_failed(order: Order) -> bool:
    """R-ORD-15: a link that does not work cancels the order before delivery, full return."""
    if not settings.ORDERS_LINK_CHECK or order.extra.get("link_checked"):
        return False
    from orders.linkcheck import link_check

    verdict = link_check(order.link)
    with transaction.atomic():
        locked = orders_locking().get(pk=order.pk)
        if locked.relay_state != RelayState.SENDING:
            return True
        if verdict.broken:
            order_cancel_now(
                order=locked,
                cause=Cause.SYSTEM,
                note=f"The link does not work ({verdict.detail}); the charge is returned.",
            )
            return True
        if verdict.refused:
            order_event_add(
                order=locked,
                cause=Cause.SYSTEM,
                note=f"Link not fetched: {verdict.detail}.",
                staff_only=True,
            )
        locked.extra = {**locked.extra, "link_checked": True}
        locked.save(update_fields=["extra", "updated_at"])
    return False


def order_relay(*, order_id: int) -> None:
    """Send one queued order to its provider and record the answer (see the module doc)."""
    claimed = _relay_claim(order_id)
    if claimed is None:
        return
    order, route = claimed
    if _link_check_failed(order):
        return
    client = ProviderClient(route.provider)
    result = client.add(**order_add_fields(order=order, route=route))  # no lock held
    _relay_record(order_id=order.pk, route=route, result=result)


def orders_relay_due(*, limit: int = 500) -> list[int]:
    """Beat: hand due retries (and queued orders whose message was lost) to the relay,
    and send sends that outlived their lease to reconciliation. Returns the ids handed on."""
    now = timezone.now()
    lost = now - _seconds(settings.ORDERS_RELAY_LOST_AFTER_SECONDS)
    with transaction.atomic():
        due = list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(relay_state=RelayState.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        due += list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(relay_state=RelayState.QUEUED, next_attempt_at=None, updated_at__lt=lost)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        # Marked due "now" and touched, so the next sweep does not hand them on again.
        Order.objects.filter(pk__in=due).update(next_attempt_at=None, updated_at=now)
        for order_id in due:
            _dispatch_relay(order_id)

    stuck = Order.objects.filter(relay_state=RelayState.SENDING, lease_until__lt=now).values_list(
        "pk", flat=True
    )
    for order_id in list(stuck[:limit]):
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
                .filter(pk=order_id, relay_state=RelayState.SENDING, lease_until__lt=now)
                .first()
            )
            if order is None:
                continue
            order.relay_state = RelayState.RECONCILE
            order.lease_until = None
            order.relay_error = "The send did not finish; the provider may have the order."
            order.save()
            order_event_add(
                order=order, cause=Cause.SYSTEM, note=order.relay_error, staff_only=True
            )
    return due


# --- polling -----------------------------------------------------------------------------------
def _count(value) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return int(number)


def order_provider_status_apply(*, order_id: int, provider_id: int, data: dict) -> Order | None:
    """Apply one provider status answer to an order (R-ORD-4, R-ORD-5, R-ORD-7, R-ORD-8).

    Safe to run twice, concurrently or late: the order is locked, a final order never
    changes, and only an order placed with this provider is touched.
    """
    now = timezone.now()
    with transaction.atomic():
        order = (
            orders_locking()
            .filter(pk=order_id, provider_id=provider_id, relay_state=RelayState.PLACED)
            .first()
        )
        if order is None or order.status in FINAL_STATUSES:
            return order
        order.polled_at = now
        order.poll_due_at = now + _seconds(settings.ORDERS_POLL_SECONDS)
        if "error" in data:
            order.relay_state = RelayState.RECONCILE
            order.poll_due_at = None
            order.relay_error = f"The provider says: {data['error']}"[:1000]
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
        remains = _count(data.get("remains"))
        if remains is not None:
            remains = min(remains, order.quantity)
        start_count = _count(data.get("start_count"))
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
        if new != order.status and new in ACTIVE_STATUSES and new != Status.PENDING:
            order_transition(order=order, new=new, cause=Cause.PROVIDER)
        else:
            order.save()
        return order


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
            Order.objects.filter(pk__in=[pk for pk, _ in rows]).update(poll_due_at=now + _lease())
    return cast("list[tuple[int, int]]", rows)  # provider_order_id is not null (filter)


def _poll_batch(*, provider: Provider, rows: list[tuple[int, int]], client=None) -> int:
    client = client or ProviderClient(provider)
    result = client.multi_status([remote for _, remote in rows])
    if not result.ok:
        retry_at = timezone.now() + _seconds(settings.ORDERS_POLL_SECONDS)
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


# --- cancel at the provider --------------------------------------------------------------------
def order_cancel_relay(*, order_id: int) -> None:
    """Ask the provider to cancel an order whose customer (or staff) asked for it (R-ORD-6)."""
    order = (
        Order.objects.select_related("provider")
        .filter(pk=order_id, relay_state=RelayState.PLACED)
        .exclude(provider_order_id=None)
        .first()
    )
    if order is None or (order.status not in FINAL_STATUSES and order.cancel_requested_at is None):
        return
    result = ProviderClient(order.provider).cancel([order.provider_order_id])
    accepted = False
    detail = result.error
    if result.ok:
        answer: dict = next(
            (row for row in result.data if _count(row.get("order")) == order.provider_order_id),
            {},
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
