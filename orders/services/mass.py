"""Mass Order: many lines of ``service_id | link | quantity``, each placed on its own (R-ORD-1).

Every line is validated and priced on its own, by the same rules as ``order_place``
(``order_prepare``), and gets its own result: its order, or the reason it was refused
(nothing is charged for a refused line). The accepted lines are then written together, in
one transaction: their orders, one spend each (``billing.services.spending``,
Promotional Credit first, a line the balance cannot cover refused), their first history
lines, and one message to start the relay. So 1,000 lines take a few queries, not several
thousand, and nothing is ever half-done: a line is placed whole, or not at all.

The overlap rule (R-ORD-12) is checked against the customer's active orders and the lines
above; should a concurrent order take a link meanwhile, the database refuses the batch
and the lines are placed one by one instead, each refused or placed on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from billing.models import RefKind
from billing.money import ZERO
from billing.services import Charge, spends_plan
from catalog.models import Service
from orders.exceptions import IncorrectRequest, OrderRefused
from orders.models import ACTIVE_STATUSES, Order, OrderEvent
from orders.services.placement import (
    PlacementContext,
    not_enough_funds,
    order_place_in_context,
    order_prepare,
    overlapping_order,
    placed_event,
    spend_memo,
)
from smmpanel.outage import enqueue_on_commit

SEPARATOR = "|"
MAX_ID_DIGITS = 18  # a bigint


@dataclass(frozen=True)
class MassLine:
    number: int  # 1-based line number in what the customer typed
    text: str
    service_id: int | None = None
    link: str = ""
    quantity: str | None = None
    error: str = ""  # a line that cannot be read


@dataclass
class MassResult:
    line: MassLine
    order: Order | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.order is not None and self.order.pk is not None


def mass_lines_parse(text: str) -> list[MassLine]:
    """The non-empty lines of ``text``; unreadable ones carry an error."""
    lines = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not stripped:
            continue
        parts = [part.strip() for part in stripped.split(SEPARATOR)]
        if len(parts) not in (2, 3) or not parts[0] or not parts[1]:
            lines.append(
                MassLine(
                    number, stripped, error=gettext("Write it as: service ID | link | quantity.")
                )
            )
            continue
        if not (parts[0].isascii() and parts[0].isdigit()):
            lines.append(
                MassLine(number, stripped, error=gettext("The service ID must be a number."))
            )
            continue
        if len(parts[0]) > MAX_ID_DIGITS:  # refused whole, never cut (int() has a digit limit)
            lines.append(MassLine(number, stripped, error=gettext("No service has this ID.")))
            continue
        quantity = parts[2] if len(parts) == 3 and parts[2] else None
        lines.append(MassLine(number, stripped, int(parts[0]), parts[1], quantity))
    return lines


def _prepare(context: PlacementContext, lines: list[MassLine]) -> list[MassResult]:
    """Validate and price every line on its own; the results carry unsaved orders."""
    links = {line.link.strip() for line in lines if not line.error}
    taken = set(
        Order.objects.filter(user=context.user, status__in=ACTIVE_STATUSES, link__in=links)
        .values_list("service_id", "link")
    )  # fmt: skip
    results = []
    for line in lines:
        if line.error:
            results.append(MassResult(line, error=line.error))
            continue
        try:
            service = context.service(line.service_id)
            if service.type == Service.Type.CUSTOM_COMMENTS:
                raise IncorrectRequest(
                    gettext("Custom Comments need their comments: use New Order.")
                )
            order = order_prepare(
                context=context, service_id=line.service_id, link=line.link,
                quantity=line.quantity,
            )  # fmt: skip
            if (order.service_id, order.link) in taken:  # R-ORD-12
                raise overlapping_order()
        except OrderRefused as refusal:
            results.append(MassResult(line, error=refusal.message))
            continue
        order.source = Order.Source.MASS
        taken.add((order.service_id, order.link))
        results.append(MassResult(line, order=order))
    return results


def _write_together(*, user, accepted: list[MassResult]) -> None:
    """Orders, spends and history lines of the accepted lines, in one transaction; the
    results change only once it is written (a refused batch is placed one by one)."""
    orders = [result.order for result in accepted if result.order is not None]
    with transaction.atomic():
        charged = [order for order in orders if order.charge > 0]
        plan = spends_plan(user=user, amounts=[order.charge for order in charged])
        uncovered = set()
        for order, split in zip(charged, plan.splits, strict=True):
            if split is None:  # the balance does not cover it when its turn comes
                uncovered.add(id(order))
            else:
                order.paid_promotional, order.paid_deposited = split.promotional, split.deposited
        placed = [order for order in orders if id(order) not in uncovered]
        for order in placed:
            if order.charge == 0:
                order.paid_promotional = order.paid_deposited = ZERO
        Order.objects.bulk_create(placed)
        plan.post(
            charges=[Charge(order.charge, spend_memo(order), order.pk)
                     for order in placed if order.charge > 0],
            ref_kind=RefKind.ORDER,
        )  # fmt: skip
        OrderEvent.objects.bulk_create([placed_event(order) for order in placed])
        if placed:
            from orders.tasks import orders_relay_batch_task

            enqueue_on_commit(orders_relay_batch_task, [order.pk for order in placed])
    for result in accepted:
        if result.order is not None and id(result.order) in uncovered:
            result.error = not_enough_funds(result.order.charge).message
            result.order = None


def _place_one_by_one(*, context: PlacementContext, accepted: list[MassResult]) -> None:
    for result in accepted:
        line = result.line
        result.order, result.error = None, ""
        try:
            result.order = order_place_in_context(
                context=context, service_id=line.service_id, link=line.link,
                quantity=line.quantity, source=Order.Source.MASS,
            )  # fmt: skip
        except OrderRefused as refusal:
            result.order, result.error = None, refusal.message


def orders_place_mass(*, user, text: str) -> list[MassResult]:
    """Place every line of ``text`` for ``user``; one result per line, in order.

    Raises ``IncorrectRequest`` for an empty text or more than ``ORDERS_MASS_MAX_LINES``.
    """
    lines = mass_lines_parse(text)
    if not lines:
        raise IncorrectRequest(gettext("Write at least one line."), field="orders")
    if len(lines) > settings.ORDERS_MASS_MAX_LINES:
        raise IncorrectRequest(
            gettext("At most %(most)s lines at a time; this has %(lines)s.")
            % {"most": settings.ORDERS_MASS_MAX_LINES, "lines": len(lines)},
            field="orders",
        )
    context = PlacementContext.load(
        user=user, service_ids=[line.service_id for line in lines if line.service_id]
    )
    results = _prepare(context, lines)
    accepted = [result for result in results if result.order is not None]
    if accepted:
        try:
            _write_together(user=user, accepted=accepted)
        except IntegrityError:
            # A concurrent order took one of the links: nothing was written; go one by one.
            _place_one_by_one(context=context, accepted=accepted)
    return results
