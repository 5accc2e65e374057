"""Reads of the orders app; ownership is checked in the query (someone else's order: 404)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import Count, F, QuerySet, Sum
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Coalesce

from catalog.models import Service
from orders.models import Order, OrderEvent, Refill, Subscription


def order_get_for_user(*, user, order_id) -> Order:
    """The customer's order; ``Order.DoesNotExist`` for an unknown id or anyone else's."""
    return Order.objects.select_related("service").get(pk=order_id, user=user)


def orders_for_user_by_ids(*, user, ids: Iterable[int]) -> dict[int, Order]:
    """The customer's orders among ``ids``, keyed by id, in one query (others are left out)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    return {order.pk: order for order in Order.objects.filter(user=user, pk__in=ids)}


class OrderStatusRow(NamedTuple):
    """The columns of an order that API ``status`` answers with (issue 15: no ``Order`` built,
    ``extra`` not decoded but for its ``runs``)."""

    pk: int
    charge: Decimal
    refunded: Decimal
    start_count: int | None
    status: str
    remains: int | None
    quantity: int
    parent_id: int | None
    service_type: str
    runs: Any  # extra["runs"] as stored (JSON), None when it has none

    @property
    def is_dripfeed_parent(self) -> bool:  # as Order.is_dripfeed_parent
        return self.parent_id is None and bool(self.runs)

    @property
    def is_subscription(self) -> bool:  # as Order.is_subscription
        return self.service_type == Service.Type.SUBSCRIPTIONS and self.parent_id is None


STATUS_FIELDS = (
    "pk", "charge", "refunded", "start_count", "status", "remains", "quantity", "parent_id",
    "service_type",
)  # fmt: skip


def order_status_rows_for_user(*, user, ids: Iterable[int]) -> dict[int, OrderStatusRow]:
    """The customer's orders among ``ids`` as ``OrderStatusRow``, keyed by id, in one query
    (someone else's order is left out, like an unknown id)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    rows = Order.objects.filter(user=user, pk__in=ids).values_list(
        *STATUS_FIELDS, KeyTransform("runs", "extra")
    )
    return {row[0]: OrderStatusRow._make(row) for row in rows}


@dataclass(frozen=True)
class OrderFilters:
    status: str = ""  # one of Order.Status values, or "" for all
    q: str = ""  # an order id, or part of a link


@dataclass(frozen=True)
class OrdersPage:
    orders: list[Order]
    older: int | None = None  # cursor of the next page (older orders): ?before=
    newer: int | None = None  # cursor of the previous page (newer orders): ?after=


LIST_FIELDS = (
    "pk", "created_at", "link", "quantity", "charge", "start_count", "remains", "status",
    "service_name", "service_id", "source", "refunded", "relay_state", "refill", "refill_days",
    "completed_at", "beta", "overlapped",
)  # fmt: skip


def orders_for_user(*, user, filters: OrderFilters | None = None) -> QuerySet[Order]:
    """The customer's orders matching ``filters``, newest first."""
    filters = filters or OrderFilters()
    queryset = Order.objects.filter(user=user, parent=None)  # portions show on their parent
    if filters.status in Order.Status.values:
        queryset = queryset.filter(status=filters.status)
    term = filters.q.strip().lstrip("#")
    if term.isdigit():
        queryset = queryset.filter(pk=int(term))
    elif term:
        queryset = queryset.filter(link__icontains=term)
    return queryset.order_by("-pk")


def orders_page_for_user(
    *,
    user,
    filters: OrderFilters | None = None,
    before: int | None = None,
    after: int | None = None,
    size: int = 50,
) -> OrdersPage:
    """One page of the customer's orders, newest first: keyset pagination on the id.

    No OFFSET and no COUNT. Two short queries: the page's ids, ``size + 1`` of them read
    from the (user, id) or (user, status, id) index alone, then those rows by primary key.
    Asking for the ids alone keeps Postgres on the customer's index: asked for whole rows,
    it may walk the primary key backwards and filter, which reads the whole table when a
    customer has no order of the status asked for.
    """
    queryset = orders_for_user(user=user, filters=filters)
    if after is not None:
        ids = list(
            queryset.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[: size + 1]
        )
        more_newer = len(ids) > size
        ids = ids[:size][::-1]
        older = ids[-1] if ids else None
        newer = ids[0] if more_newer else None
    else:
        if before is not None:
            queryset = queryset.filter(pk__lt=before)
        ids = list(queryset.values_list("pk", flat=True)[: size + 1])
        more_older = len(ids) > size
        ids = ids[:size]
        older = ids[-1] if more_older else None
        newer = ids[0] if before is not None and ids else None
    rows = Order.objects.only(*LIST_FIELDS).in_bulk(ids) if ids else {}
    return OrdersPage(orders=[rows[pk] for pk in ids if pk in rows], older=older, newer=newer)


def order_history_for_customer(*, order: Order) -> QuerySet[OrderEvent]:
    """The order's history as the customer sees it (R-ORD-16): relay details left out."""
    return order.events.filter(staff_only=False).order_by("pk")


def order_history_for_staff(*, order: Order) -> QuerySet[OrderEvent]:
    return order.events.select_related("actor").order_by("pk")


# --- dashboard (issue 14) ---
def order_status_counts(*, user) -> dict[str, int]:
    """How many of the customer's orders are in each status (every status, zeros included)."""
    counts = dict.fromkeys(Order.Status.values, 0)
    rows = Order.objects.filter(user=user).order_by().values_list("status").annotate(n=Count("pk"))
    counts.update(dict(rows))
    return counts


def orders_recent_for_user(*, user, limit: int = 5) -> list[Order]:
    return list(Order.objects.filter(user=user).only(*LIST_FIELDS).order_by("-pk")[:limit])


def portion_ids_by_parent(*, parent_ids: Iterable[int]) -> dict[int, list[int]]:
    """The ids of the drip-feed portions of each parent among ``parent_ids`` (one query)."""
    found: dict[int, list[int]] = {}
    rows = (
        Order.objects.filter(parent_id__in=set(parent_ids), portion__isnull=False)
        .order_by("parent_id", "portion")
        .values_list("parent_id", "pk")
    )
    for parent_id, pk in rows:
        found.setdefault(parent_id, []).append(pk)
    return found


def subscription_progress_by_order(
    *, order_ids: Iterable[int]
) -> dict[int, tuple[int, date | None]]:
    """Posts ordered so far and the expiry of each subscription among ``order_ids`` (one query)."""
    rows = Subscription.objects.filter(order_id__in=set(order_ids)).values_list(
        "order_id", "posts_done", "expiry"
    )
    return {order_id: (posts_done, expiry) for order_id, posts_done, expiry in rows}


def subscription_totals_by_order(*, order_ids: Iterable[int]) -> dict[int, tuple[Decimal, int]]:
    """What the cycles of each subscription among ``order_ids`` cost, less their returns, and
    what they have still to deliver (a cycle not started yet: all of it), in one query
    (R-ORD-11: each cycle is an order of its own, charged when it runs)."""
    rows = (
        Order.objects.filter(parent_id__in=set(order_ids))
        .order_by()
        .values("parent_id")
        .annotate(
            net=Sum(F("charge") - F("refunded")),
            undelivered=Sum(Coalesce("remains", "quantity")),
        )
        .values_list("parent_id", "net", "undelivered")
    )
    return {parent_id: (net, undelivered) for parent_id, net, undelivered in rows}


def portions_for_parent(*, order: Order) -> QuerySet[Order]:
    """A drip-feed order's portions, in sequence, for its page (R-ORD-10)."""
    return order.portions.filter(portion__isnull=False).order_by("portion")


def refill_get_for_user(*, user, refill_id) -> Refill:
    """The customer's refill; ``Refill.DoesNotExist`` for an unknown id or anyone else's."""
    return Refill.objects.select_related("order").get(pk=refill_id, user=user)


def refills_for_user_by_ids(*, user, ids: Iterable[int]) -> dict[int, Refill]:
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    return {refill.pk: refill for refill in Refill.objects.filter(user=user, pk__in=ids)}


def refills_for_user(*, user) -> QuerySet[Refill]:
    """The customer's refill requests, newest first (the Refills page)."""
    return Refill.objects.filter(user=user).select_related("order").order_by("-pk")
