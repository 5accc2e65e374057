"""Reads of the orders app; ownership is checked in the query (someone else's order: 404)."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Order


def order_get_for_user(*, user, order_id) -> Order:
    """The customer's order; ``Order.DoesNotExist`` for an unknown id or anyone else's."""
    return Order.objects.select_related("service").get(pk=order_id, user=user)


def orders_for_user_by_ids(*, user, ids: Iterable[int]) -> dict[int, Order]:
    """The customer's orders among ``ids``, keyed by id, in one query (others are left out)."""
    ids = {int(i) for i in ids}
    if not ids:
        return {}
    return {order.pk: order for order in Order.objects.filter(user=user, pk__in=ids)}
