"""Sending an order to its provider: claim, route, ``add``, and what its answer means."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.models import ProviderService, Service
from catalog.provider_client import Outcome, ProviderClient, ProviderResult
from catalog.selectors import provider_services_ranked
from legal.selectors import order_held
from orders.models import FINAL_STATUSES, Order, OrderEvent, RelayState
from orders.services.lifecycle import (
    order_cancel_now,
    order_event_add,
    orders_locking,
    relay_move,
)
from orders.services.placement import PASS_THROUGH
from orders.services.relay.common import lease, relay_backoff, relay_dispatch, seconds

logger = logging.getLogger(__name__)

Status = Order.Status
Cause = OrderEvent.Cause


def order_add_fields(*, order: Order, route: ProviderService) -> dict:
    """The provider's ``add`` fields: the service, link, quantity and type fields only (R-PRV-4)."""
    extra = order.extra or {}
    if extra.get("subscription"):
        # A subscription's cycle (R-ORD-11): one post of the account, min = max = its quantity.
        return {
            "service": route.remote_service_id, "username": extra["username"],
            "min": order.quantity, "max": order.quantity, "posts": 1,
        }  # fmt: skip
    fields: dict = {"service": route.remote_service_id, "link": order.link}
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
        if note := _hold_note(order):
            _relay_hold(order, now, note)
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
        relay_move(order=order, new=RelayState.SENDING)
        order.relay_attempts += 1
        order.next_attempt_at = None
        order.lease_until = now + lease()
        order.save()
    return order, route


# Why an unsent order waits, kept in ``relay_error`` and a staff-only event (both seen by
# staff only: the customer's pages never show them).
HELD_NOTE = "Held: the account is not active (R-ACC-5)."
INVESTIGATION_NOTE = (
    "Held: the order or its account is on hold under investigation; see its Hold (R-AUP-2)."
)
HELD_NOTES = (HELD_NOTE, INVESTIGATION_NOTE)


def _hold_note(order: Order) -> str:
    """Why ``order`` may not be sent now, or "": its account is suspended or closed
    (R-ACC-5), or the order or its account is on hold (R-AUP-2)."""
    if not order.user.can_order:
        return HELD_NOTE
    if order_held(order=order):
        return INVESTIGATION_NOTE
    return ""


def _relay_hold(order: Order, now, note: str) -> None:
    """Keep an unsent order queued with ``note``: its account is suspended (R-ACC-5) or it is
    on hold (R-AUP-2). The beat looks again later; ``orders_release_held`` (reinstatement)
    and ``legal.services.hold_release`` send it on sooner."""
    order.next_attempt_at = now + seconds(settings.ORDERS_HOLD_RECHECK_SECONDS)
    if order.relay_error != note:
        order.relay_error = note
        order_event_add(order=order, note=note, cause=Cause.SYSTEM, staff_only=True)
    order.save(update_fields=["next_attempt_at", "relay_error", "updated_at"])


def orders_release_held(*, user) -> list[int]:
    """Send on the held orders of a reinstated account (R-ACC-5)."""
    with transaction.atomic():
        held = list(
            Order.objects.select_for_update(no_key=True, of=("self",))
            .filter(user=user, relay_state=RelayState.QUEUED, relay_error__in=HELD_NOTES)
            .values_list("pk", flat=True)
        )
        Order.objects.filter(pk__in=held).update(next_attempt_at=None, relay_error="")
        for order_id in held:
            relay_dispatch(order_id)
    return held


def _relay_no_route(order: Order) -> None:
    """No route to try: a manual service goes to staff; otherwise the order failed."""
    if (
        not order.routes_tried
        and not ProviderService.objects.filter(service=order.service).exists()
    ):
        relay_move(order=order, new=RelayState.MANUAL, error="Manual service: no provider route.")
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
    relay_move(order=order, new=RelayState.FAILED, error=error)
    order.save()
    order_event_add(order=order, cause=Cause.SYSTEM, note=f"Relay failed: {error}", staff_only=True)
    logger.warning("order %s: relay failed: %s", order.pk, error)


def _route_given_up(order: Order, route_id: int, *, final: bool, error: str) -> None:
    """Move on to the next route, or end: failed (after retries) or canceled (refused)."""
    order.routes_tried = [*order.routes_tried, route_id]
    order.relay_attempts = 0
    order.relay_error = error
    following = _next_route(order)
    if following is not None:
        relay_move(order=order, new=RelayState.QUEUED)
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
        relay_dispatch(order.pk)
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
            relay_move(order=order, new=RelayState.RECONCILE, error=result.error)
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
                relay_move(order=order, new=RelayState.QUEUED, error=result.error)
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
    relay_move(order=order, new=RelayState.PLACED, error="")
    order.sent_at = now
    order.poll_due_at = now + seconds(settings.ORDERS_POLL_SECONDS)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError:
        # The provider gave an id another order already has: staff must look.
        order.refresh_from_db()
        relay_move(
            order=order,
            new=RelayState.RECONCILE,
            error=f"{name} answered order id {provider_order_id}, already in use here.",
        )
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
    lost = now - seconds(settings.ORDERS_RELAY_LOST_AFTER_SECONDS)
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
            relay_dispatch(order_id)

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
            relay_move(
                order=order,
                new=RelayState.RECONCILE,
                error="The send did not finish; the provider may have the order.",
            )
            order.save()
            order_event_add(
                order=order, cause=Cause.SYSTEM, note=order.relay_error, staff_only=True
            )
    return due
