"""What the relay's parts share: timings and the one way work is handed to a worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings

from smmpanel.outage import enqueue_on_commit


def seconds(value: float) -> timedelta:
    return timedelta(seconds=float(value))


def lease() -> timedelta:
    """How long a send or a poll may take before it counts as stuck."""
    return seconds(settings.PROVIDER_TIMEOUT + settings.ORDERS_RELAY_GRACE_SECONDS)


def relay_backoff(attempt: int) -> timedelta:
    """The wait before retry ``attempt`` (1, 2, ...): doubling, capped."""
    base = settings.ORDERS_RELAY_BACKOFF_SECONDS * (2 ** max(attempt - 1, 0))
    return seconds(min(base, settings.ORDERS_RELAY_BACKOFF_MAX_SECONDS))


def relay_dispatch(order_id: int) -> None:
    """Hand one order to the relay once the current transaction commits."""
    from orders.tasks import order_relay_task

    enqueue_on_commit(order_relay_task, order_id)  # broker down: the due rows hand it on


def count_parse(value) -> int | None:
    """A provider's count (``"3572"``, ``3572``, ``"3572.0"``) as an int; ``None`` if not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not number.is_finite() or number < 0:
        return None
    return int(number)
