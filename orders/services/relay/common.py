"""What the relay's parts share: timings and the one way work is handed to a worker."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection

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


def claim_commit_unflushed() -> None:
    """Postgres: the current transaction (a beat's claim that only marks rows) commits
    without waiting for its WAL to reach the disk (``synchronous_commit`` off for this
    transaction only; other sessions see the commit at once). A crash can lose such a
    commit, whole and never in part: the rows are due again and claimed by the next beat,
    and a message it had sent finds them not queued (a portion: nothing to do) or still
    queued (a refill: sent once, its send claims it). Never for a transaction that moves
    money or tells the customer anything, so only in the claim's own transaction, never
    inside a caller's."""
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


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
