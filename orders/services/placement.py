"""Placing orders: New Order, Mass Order and the API v2 ``add`` (R-ORD-1..3, R-AUP-1, R-CAT-2).

``order_place`` validates, prices at the customer's live rate, creates the order, spends
from the balance (Promotional Credit first, the split stored on the order) and writes the
first history line, in one transaction. The database has the last word on the two rules
that races could break: one active order per account, link and service (a partial unique
index) and one order per idempotency key; the ledger refuses to overdraw (R-BAL-5).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from billing.exceptions import InsufficientFunds
from billing.models import RefKind
from billing.money import ZERO, quantize, usd_text
from billing.services import Charge, spends_plan
from catalog.exceptions import LinkRejected
from catalog.models import Service, service_type_orderable
from catalog.provider_client import ADD_FIELDS
from catalog.selectors import (
    RateBook,
    rate_book_for_user,
    service_for_order,
    service_link_check,
)
from orders.blocking import BlockedRules
from orders.exceptions import (
    IncorrectRequest,
    LinkRefused,
    NotEnoughFunds,
    OrderRefused,
    OverlappingOrder,
    QuantityRefused,
    ServiceRefused,
)
from orders.models import Order, OrderEvent
from smmpanel.outage import enqueue_on_commit

if TYPE_CHECKING:
    from accounts.models import User

THOUSAND = Decimal(1000)
MAX_RUNS = 1000
MAX_INTERVAL_MINUTES = 60 * 24 * 30
MAX_KEY_LENGTH = 128
# Fields of other service types, stored on the order and passed through to the provider.
PASS_THROUGH = ADD_FIELDS - {"service", "link", "quantity", "comments", "runs", "interval"}
SOURCE_NOTES: dict[str, str] = {
    Order.Source.WEB: "Placed on the New Order page.",
    Order.Source.MASS: "Placed through Mass Order.",
    Order.Source.API: "Placed through the API.",
}


@dataclass
class PlacementContext:
    """What a customer's placements share: loaded once for a whole mass order."""

    user: User
    book: RateBook
    blocked: BlockedRules
    services: dict[int, Service | None] = field(default_factory=dict)

    @classmethod
    def load(cls, *, user, service_ids=()) -> PlacementContext:
        context = cls(user=user, book=rate_book_for_user(user=user), blocked=BlockedRules.load())
        if service_ids:
            found = Service.objects.filter(pk__in=set(service_ids), enabled=True).in_bulk()
            context.services = {pk: found.get(pk) for pk in set(service_ids)}
        return context

    def service(self, service_id) -> Service:
        try:
            pk = int(service_id)
        except (TypeError, ValueError):
            raise ServiceRefused(_("Choose a service.")) from None
        if pk not in self.services:
            self.services[pk] = service_for_order(service_id=pk)  # read cache
        service = self.services[pk]
        if service is None:
            raise ServiceRefused(_("This service does not exist or is not available now."))
        return service


@dataclass(frozen=True)
class OrderSpec:
    """An order's fields after validation against its service's type."""

    link: str
    quantity: int  # what is delivered in total
    units: int  # what the limits apply to: the quantity per run, or the comment lines
    runs: int = 1
    extra: dict = field(default_factory=dict)


def _positive_int(
    value, *, what: str, error_class=IncorrectRequest, field_name=None, minimum: int = 1
) -> int:
    if isinstance(value, bool):
        raise error_class(
            _("Enter a whole number for the %(what)s.") % {"what": what}, field=field_name
        )
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise error_class(
            _("Enter a whole number for the %(what)s.") % {"what": what}, field=field_name
        ) from None
    if number < minimum:
        raise error_class(
            _("The %(what)s must be at least %(minimum)s.") % {"what": what, "minimum": minimum},
            field=field_name,
        )
    return number


def _minutes(value) -> int:
    """Drip-feed's interval in minutes: 0 sends the portions back to back."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise IncorrectRequest(_("Enter the interval in minutes."), field="interval")
    if isinstance(value, bool):
        raise IncorrectRequest(_("Enter a whole number of minutes."), field="interval")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise IncorrectRequest(_("Enter a whole number of minutes."), field="interval") from None
    if number < 0:
        raise IncorrectRequest(_("The interval cannot be negative."), field="interval")
    return number


def _order_spec(
    *, service: Service, link: str, quantity, comments: str | None, extra: dict
) -> OrderSpec:
    """The order's link, quantity and extra fields by the service's type (API_V2.md ``add``)."""
    if not service_type_orderable(service.type):
        raise IncorrectRequest(
            _("%(type)s services cannot be ordered yet.") % {"type": service.type}, field="service"
        )
    if service.type == Service.Type.SUBSCRIPTIONS:  # R-ORD-11: the panel runs its cycles
        from orders.services.relay.subscription import subscription_fields

        fields = subscription_fields(service=service, extra=extra)
        _check_limits(service=service, units=fields["min"])
        return OrderSpec(
            link=fields["username"], quantity=fields["max"], units=fields["max"], extra=fields
        )
    try:
        link = service_link_check(service=service, link=link)
    except LinkRejected as exc:
        raise LinkRefused(exc.message) from None

    stored: dict[str, object] = {
        name: str(value).strip()
        for name, value in extra.items()
        if name in PASS_THROUGH and value is not None and str(value).strip()
    }
    if service.type == Service.Type.PACKAGE:
        return OrderSpec(link=link, quantity=1, units=1, extra=stored)
    if service.type == Service.Type.CUSTOM_COMMENTS:
        lines = [line.strip() for line in (comments or "").splitlines() if line.strip()]
        if not lines:
            raise IncorrectRequest(_("Write the comments, one per line."), field="comments")
        stored["comments"] = "\n".join(lines)
        return OrderSpec(link=link, quantity=len(lines), units=len(lines), extra=stored)

    if quantity is None or (isinstance(quantity, str) and not quantity.strip()):
        raise IncorrectRequest(_("Enter the quantity."), field="quantity")
    units = _positive_int(quantity, what=_("quantity"), field_name="quantity")
    runs_value, interval_value = extra.get("runs"), extra.get("interval")
    if runs_value in (None, "") and interval_value in (None, ""):
        return OrderSpec(link=link, quantity=units, units=units, extra=stored)
    # Drip-feed (R-ORD-2): `quantity` per run, `runs` times, `interval` minutes apart.
    if not service.dripfeed:
        raise IncorrectRequest(_("This service does not offer drip-feed."), field="runs")
    runs = _positive_int(runs_value, what=_("number of runs"), field_name="runs")
    interval = _minutes(interval_value)
    if runs > MAX_RUNS:
        raise IncorrectRequest(_("At most %(runs)s runs.") % {"runs": MAX_RUNS}, field="runs")
    if interval > MAX_INTERVAL_MINUTES:
        raise IncorrectRequest(_("The interval is too long."), field="interval")
    stored.update(runs=runs, interval=interval, quantity_per_run=units)
    return OrderSpec(link=link, quantity=units * runs, units=units, runs=runs, extra=stored)


def _check_limits(*, service: Service, units: int) -> None:
    if units < service.min_quantity:
        raise QuantityRefused(
            _("The minimum for this service is %(minimum)s.") % {"minimum": service.min_quantity},
            api_message=f"Quantity less than minimal {service.min_quantity}",
        )
    if units > service.max_quantity:
        raise QuantityRefused(
            _("The maximum for this service is %(maximum)s.") % {"maximum": service.max_quantity},
            api_message=f"Quantity more than maximum {service.max_quantity}",
        )


def order_charge(*, service: Service, rate: Decimal, quantity: int) -> Decimal:
    """R-ORD-2: rate x quantity / 1000, rounded to the ledger; a Package costs its rate."""
    if service.type == Service.Type.PACKAGE:
        return quantize(rate)
    return quantize(rate * quantity / THOUSAND)


def violated_constraint(exc: IntegrityError) -> str:
    """The name of the order's constraint that ``exc`` reports. Postgres gives it in its
    diagnostics; SQLite (the development default) only in its message: the index's name for
    an index on expressions, the columns for one on plain columns."""
    diag = getattr(exc.__cause__, "diag", None)
    if name := getattr(diag, "constraint_name", "") or "":
        return name
    message = str(exc)
    if match := re.search(r"index '([^']+)'", message):
        return match.group(1)
    if match := re.search(r"UNIQUE constraint failed: (.+)$", message):
        columns = {part.rsplit(".", 1)[-1].strip() for part in match.group(1).split(",")}
        for constraint in Order._meta.constraints:
            fields = [Order._meta.get_field(f) for f in getattr(constraint, "fields", ())]
            if fields and {getattr(f, "column", f.name) for f in fields} == columns:
                return constraint.name
    return ""


def _parts_create(order: Order) -> None:
    if order.extra.get("runs"):
        from orders.services.relay.drip import dripfeed_portions_create

        dripfeed_portions_create(parent=order)
    elif order.service_type == Service.Type.SUBSCRIPTIONS:
        from orders.services.relay.subscription import subscription_create

        subscription_create(order=order)


def order_place(
    *,
    user,
    service_id: int,
    link: str,
    quantity: int | None,
    source: str,
    comments: str | None = None,
    extra: dict | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """Place one order for ``user`` and charge the balance; raises an ``OrderRefused``.

    With an ``idempotency_key`` the customer already used, returns that earlier order.
    The relay to the provider starts once the transaction commits.
    """
    return order_place_in_context(
        context=PlacementContext.load(user=user),
        service_id=service_id,
        link=link,
        quantity=quantity,
        source=source,
        comments=comments,
        extra=extra,
        idempotency_key=idempotency_key,
    )


def order_prepare(
    *, context: PlacementContext, service_id, link: str, quantity, comments=None, extra=None
) -> Order:
    """Validate one order and price it (R-ORD-2, R-ORD-3, R-AUP-1, R-CAT-6): an unsaved
    ``Order`` with the snapshot of its service (R-CAT-2); raises an ``OrderRefused``."""
    user = context.user
    if not getattr(user, "can_order", True):
        raise OrderRefused(_("This account cannot place orders."), api_message="Invalid API key")
    service = context.service(service_id)  # unknown or disabled
    spec = _order_spec(
        service=service, link=link or "", quantity=quantity, comments=comments, extra=extra or {}
    )
    _check_limits(service=service, units=spec.units)
    if context.blocked.blocks(link=spec.link, comments=spec.extra.get("comments", "")):
        raise LinkRefused(  # R-AUP-1
            _("This link cannot be ordered: it is on our acceptable use policy's blocked list.")
        )
    rate = context.book.rate(service)  # the customer's live price
    return Order(
        user=user,
        service=service,
        link=spec.link,
        quantity=spec.quantity,
        # A subscription is charged cycle by cycle, when each runs (R-ORD-11).
        charge=ZERO
        if service.type == Service.Type.SUBSCRIPTIONS
        else order_charge(service=service, rate=rate, quantity=spec.quantity),
        extra=spec.extra,
        # R-CAT-2: what is live now stays with the order.
        service_name=service.name,
        service_type=service.type,
        rate=rate,
        min_quantity=service.min_quantity,
        max_quantity=service.max_quantity,
        can_cancel=service.cancel,
        refill=service.refill,
        refill_days=service.refill_days,
        dripfeed=service.dripfeed,
        beta=service.beta,
    )


def not_enough_funds(charge: Decimal) -> NotEnoughFunds:
    return NotEnoughFunds(
        _("Your balance does not cover this order's charge of %(charge)s.")
        % {"charge": usd_text(charge)}
    )


def placed_event(order: Order) -> OrderEvent:
    """The first line of an order's history (R-ORD-16)."""
    return OrderEvent(
        order=order,
        new_status=Order.Status.PENDING,
        cause=OrderEvent.Cause.CUSTOMER,
        actor=order.user,
        note=SOURCE_NOTES[order.source],
    )


def overlapping_order() -> OverlappingOrder:
    return OverlappingOrder(
        _(
            "You already have an active order of this service on this link. "
            "Wait until it is completed."
        )
    )


def spend_memo(order: Order, note: str = "") -> str:
    return f"Order #{order.pk}: {order.service_name}{note}"[:255]


def order_insert_charged(order: Order, *, memo_note: str = "") -> None:
    """Insert ``order`` and charge it, inside the caller's transaction (R-BAL-4: Promotional
    Credit first). The split is decided under the customer's locks before the INSERT, so the
    order is written once, with it. Raises ``InsufficientFunds`` having written nothing."""
    plan = None
    order.paid_promotional = order.paid_deposited = ZERO
    if order.charge > 0:
        plan = spends_plan(user=order.user, amounts=[order.charge])
        split = plan.splits[0]
        if split is None:
            raise InsufficientFunds(required=order.charge, available=plan.available)
        order.paid_promotional, order.paid_deposited = split.promotional, split.deposited
    order.save(force_insert=True)
    if plan is not None:
        plan.post(charges=[Charge(order.charge, spend_memo(order, memo_note), order.pk)],
                  ref_kind=RefKind.ORDER)  # fmt: skip


def _order_write(order: Order) -> None:
    """Charge and write one prepared order with its first history line, in one transaction."""
    with transaction.atomic():
        try:
            order_insert_charged(order)
        except InsufficientFunds:
            raise not_enough_funds(order.charge) from None
        placed_event(order).save()
        if order.relay_state == Order.RelayState.PARENT:
            _parts_create(order)  # R-ORD-10, R-ORD-11: the panel sends its parts
        else:
            from orders.tasks import order_relay_task

            enqueue_on_commit(order_relay_task, order.pk)  # broker down: due rows send it


def order_place_in_context(
    *,
    context: PlacementContext,
    service_id,
    link: str,
    quantity,
    source: str,
    comments: str | None = None,
    extra: dict | None = None,
    idempotency_key: str | None = None,
) -> Order:
    """``order_place`` with the customer's rates, blocked patterns and services preloaded."""
    user = context.user
    if source not in Order.Source.values:
        raise ValueError(f"unknown order source {source!r}")
    key = (idempotency_key or "").strip() or None
    if key is not None:
        if len(key) > MAX_KEY_LENGTH:
            raise IncorrectRequest(f"The idempotency key is longer than {MAX_KEY_LENGTH}.")
        earlier = Order.objects.filter(user=user, idempotency_key=key).first()
        if earlier is not None:
            return earlier
    order = order_prepare(
        context=context,
        service_id=service_id,
        link=link,
        quantity=quantity,
        comments=comments,
        extra=extra,
    )
    order.source = source
    order.idempotency_key = key
    if order.extra.get("runs") or order.service_type == Service.Type.SUBSCRIPTIONS:
        order.relay_state = Order.RelayState.PARENT
    try:
        _order_write(order)
    except IntegrityError as exc:
        constraint = violated_constraint(exc)
        if constraint == "order_idempotency_key_per_user":
            return Order.objects.get(user=user, idempotency_key=key)
        if constraint == "order_one_active_per_link":  # R-ORD-12
            raise overlapping_order() from None
        raise
    return order
