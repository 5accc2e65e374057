"""Mass Order: many lines of ``service_id | link | quantity``, each placed on its own (R-ORD-1).

Every line is validated and placed in its own transaction through the same
``order_place`` rules; a refused line changes nothing and does not stop the others. The
customer's rates, blocked patterns and the services named are loaded once for all lines,
and the relay is started with one message for the whole batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from catalog.models import Service
from orders.exceptions import IncorrectRequest, OrderRefused
from orders.models import Order
from orders.services.placement import PlacementContext, order_place_in_context

SEPARATOR = "|"


@dataclass(frozen=True)
class MassLine:
    number: int  # 1-based line number in what the customer typed
    text: str
    service_id: int | None = None
    link: str = ""
    quantity: str | None = None
    error: str = ""  # a line that cannot be read


@dataclass(frozen=True)
class MassResult:
    line: MassLine
    order: Order | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.order is not None


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
                MassLine(number, stripped, error="Write it as: service ID | link | quantity.")
            )
            continue
        if not parts[0].isdigit():
            lines.append(MassLine(number, stripped, error="The service ID must be a number."))
            continue
        quantity = parts[2] if len(parts) == 3 and parts[2] else None
        lines.append(MassLine(number, stripped, int(parts[0]), parts[1], quantity))
    return lines


def orders_place_mass(*, user, text: str) -> list[MassResult]:
    """Place every line of ``text`` for ``user``; one result per line, in order.

    Raises ``IncorrectRequest`` for an empty text or more than ``ORDERS_MASS_MAX_LINES``.
    """
    lines = mass_lines_parse(text)
    if not lines:
        raise IncorrectRequest("Write at least one line.", field="orders")
    if len(lines) > settings.ORDERS_MASS_MAX_LINES:
        raise IncorrectRequest(
            f"At most {settings.ORDERS_MASS_MAX_LINES} lines at a time; this has {len(lines)}.",
            field="orders",
        )
    context = PlacementContext.load(
        user=user, service_ids=[line.service_id for line in lines if line.service_id]
    )
    results = []
    for line in lines:
        if line.error:
            results.append(MassResult(line, error=line.error))
            continue
        try:
            service = context.service(line.service_id)
            if service.type == Service.Type.CUSTOM_COMMENTS:
                raise IncorrectRequest("Custom Comments need their comments: use New Order.")
            order = order_place_in_context(
                context=context,
                service_id=line.service_id,
                link=line.link,
                quantity=line.quantity,
                source=Order.Source.MASS,
                relay=False,
            )
        except OrderRefused as exc:
            results.append(MassResult(line, error=exc.message))
        else:
            results.append(MassResult(line, order=order))
    placed = [result.order.pk for result in results if result.ok]
    if placed:
        from orders.tasks import orders_relay_batch_task

        transaction.on_commit(lambda: orders_relay_batch_task.delay(placed))
    return results
