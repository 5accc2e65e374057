"""Drip-feed run by the panel (R-ORD-10, R-ORD-2).

A drip-feed order is a *parent* (charged runs x quantity at placement, never sent itself)
with ``runs`` *portions*: orders of their own (``parent``, ``portion`` = 1, 2, ...), each
sent through the relay like any order (failover, retries, ambiguity rules and all). Their
charges add up to the parent's; a portion's return is taken from the parent's charge, to
the sources it was paid from.

Schedule: portion 1 is queued at placement; every other portion waits *scheduled*. The
beat task ``dripfeed_release_due`` claims due portions (``due_at`` passed) in batches with
``SELECT ... FOR UPDATE SKIP LOCKED``, hands them to the relay (one message per batch) and
makes the next portion of each parent due ``interval`` minutes later (on Postgres one
statement a batch, ``RELEASE_SQL``; elsewhere the ORM): one portion per interval, in
sequence; ``interval=0`` sends them back to back. A due portion also waits while the
portion before it is still active at the provider: providers refuse a second active order
on the same link, so sending it then would only earn retries.

Two workers never take the same portion (the row lock); a worker that dies mid-batch rolls
its transaction back and the portions stay due; one that dies after committing leaves
queued portions, which the relay's own sweep (``orders_relay_due``) hands on as lost
messages.

Stop (``dripfeed_stop``): the unsent portions are closed (Canceled) and exactly their
charges return to the parent's funding sources (R-ORD-7/8); sent portions are final and
end as the provider reports them. The parent's status and counts follow its portions
(``orders.services.lifecycle.dripfeed_parent_sync``).

Lock order everywhere: portion rows, then the parent row. A stop holds the parent and
takes the portions with SKIP LOCKED, so it never waits on a portion; a portion it skipped
(being released at that moment) is closed by the release itself.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext

from billing.money import quantize, usd_text
from orders.exceptions import CancelRefused, InvalidTransition
from orders.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    RELAY_TRANSITIONS,
    Order,
    OrderEvent,
    RelayState,
)
from orders.services.lifecycle import (
    dripfeed_parent_sync,
    order_return_post,
    orders_locking,
    relay_move_bulk,
)
from orders.services.relay.common import claim_commit_unflushed
from smmpanel.outage import enqueue_on_commit

Status = Order.Status
Cause = OrderEvent.Cause
CENT5 = Decimal("0.00001")
# What a portion copies of its parent (the R-CAT-2 snapshot and the order's own fields).
COPIED = (
    "user_id", "service_id", "link", "source", "service_name", "service_type", "rate",
    "min_quantity", "max_quantity", "can_cancel", "refill", "refill_days", "dripfeed", "beta",
)  # fmt: skip
PARENT_FIELDS = (
    "pk", "user_id", "status", "stopped_at", "extra", "charge", "paid_promotional",
    "paid_deposited",
)  # fmt: skip
UNSENT = (RelayState.SCHEDULED, RelayState.QUEUED, RelayState.FAILED, RelayState.MANUAL)
# A claimed portion: its id, its parent, its number, and whether it went to the relay.
Claimed = tuple[int, int, int | None, bool]


def portion_charges(*, charge: Decimal, runs: int) -> list[Decimal]:
    """R-ORD-2: the parent's charge split over its runs; they add up to it exactly."""
    base = (charge / runs).quantize(CENT5, rounding=ROUND_DOWN)
    return [base] * (runs - 1) + [quantize(charge - base * (runs - 1))]


def dripfeed_portions_create(*, parent: Order) -> list[Order]:
    """Create the portions of a just-placed drip-feed parent (inside its transaction).

    Portion 1 is queued for the relay at once (after commit); the others wait scheduled.
    """
    runs = int(parent.extra["runs"])
    per_run = int(parent.extra["quantity_per_run"])
    interval = int(parent.extra["interval"])
    now = timezone.now()
    passed = {
        k: v for k, v in parent.extra.items() if k not in ("runs", "interval", "quantity_per_run")
    }
    portions = [
        Order(
            **{name: getattr(parent, name) for name in COPIED},
            parent=parent,
            portion=number,
            quantity=per_run,
            charge=charge,
            extra=dict(passed),
            relay_state=RelayState.QUEUED if number == 1 else RelayState.SCHEDULED,
            due_at=now + timedelta(minutes=interval) if number == 2 else None,
        )
        for number, charge in enumerate(portion_charges(charge=parent.charge, runs=runs), 1)
    ]
    Order.objects.bulk_create(portions)
    OrderEvent.objects.bulk_create(
        OrderEvent(
            order=portion,
            new_status=Status.PENDING,
            cause=Cause.CUSTOMER,
            actor=parent.user,
            note=f"Portion {portion.portion} of {runs} of order #{parent.pk}.",
        )
        for portion in portions
    )
    from orders.services.relay.common import relay_dispatch

    relay_dispatch(portions[0].pk)
    return portions


def _portions_close(*, parent: Order, ids: list[int], cause: str, actor, note: str) -> Decimal:
    """Close unsent portions (locked by the caller) as Canceled and return exactly their
    charges to the parent's sources (R-ORD-10, R-ORD-8); returns the amount."""
    if not ids:
        return Decimal(0)
    now = timezone.now()
    rows = list(Order.objects.filter(pk__in=ids, status=Status.PENDING).values_list("pk", "charge"))
    ids = [pk for pk, _ in rows]
    amount = quantize(sum((charge for _, charge in rows), Decimal(0)))
    fields = {
        "status": Status.CANCELED, "completed_at": now, "updated_at": now, "due_at": None,
        "next_attempt_at": None, "poll_due_at": None,
    }  # fmt: skip
    # PENDING -> CANCELED is in TRANSITIONS; each relay state's move to CLOSED is checked.
    for old in UNSENT:
        queryset = Order.objects.filter(pk__in=ids)
        relay_move_bulk(queryset=queryset, old=old, new=RelayState.CLOSED, **fields)
    Order.objects.filter(pk__in=ids).update(remains=F("quantity"), refunded=F("charge"))
    events = [
        OrderEvent(
            order_id=pk,
            old_status=Status.PENDING,
            new_status=Status.CANCELED,
            cause=cause,
            actor=actor,
            note=note,
        )
        for pk in ids
    ]
    OrderEvent.objects.bulk_create(events)
    key = f"order:{parent.pk}:stop" if cause == Cause.CUSTOMER else f"order:{ids[0]}:stopped"
    posted = order_return_post(
        payer=parent,
        amount=amount,
        why=f"drip-feed stopped, {len(ids)} unsent portion{'s' if len(ids) != 1 else ''}",
        idempotency_key=key,
    )
    Order.objects.filter(pk=parent.pk).update(refunded=F("refunded") + posted)
    return posted


def dripfeed_stop(*, user, order: Order, actor=None) -> Decimal:
    """The customer stops the portions not yet sent (R-ORD-10); returns the amount given back.

    Sent portions are final and go on. Stopping twice changes nothing. Raises
    ``CancelRefused`` when nothing is left to stop; ``Order.DoesNotExist`` for someone
    else's order.
    """
    with transaction.atomic():
        parent = orders_locking().get(pk=order.pk, user=user, parent=None)
        if not parent.is_dripfeed_parent:
            raise CancelRefused(gettext("This is not a drip-feed order."))
        if parent.status in FINAL_STATUSES:
            raise CancelRefused(
                gettext("This order is already %(status)s.")
                % {"status": parent.get_status_display()}
            )
        ids = list(
            Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .filter(parent=parent, status=Status.PENDING, relay_state__in=UNSENT)
            .values_list("pk", flat=True)
        )
        if not ids:
            if parent.stopped_at is not None:
                return Decimal(0)
            raise CancelRefused(gettext("Every portion has been sent; sent portions are final."))
        Order.objects.filter(pk=parent.pk).update(stopped_at=timezone.now())
        amount = _portions_close(
            parent=parent,
            ids=ids,
            cause=Cause.CUSTOMER,
            actor=actor or user,
            note="Stopped at your request before it was sent.",
        )
        OrderEvent.objects.create(
            order=parent, old_status=parent.status, new_status=parent.status,
            cause=Cause.CUSTOMER, actor=actor or user,
            note=f"Drip-feed stopped: {len(ids)} unsent portions, {usd_text(amount)} returned.",
        )  # fmt: skip
        dripfeed_parent_sync(parent_id=parent.pk)
    return amount


def dripfeed_can_stop(order: Order) -> bool:
    """Whether the Stop button shows: a running drip-feed with portions not yet sent."""
    return (
        order.is_dripfeed_parent
        and order.status not in FINAL_STATUSES
        and order.portions.filter(status=Status.PENDING, relay_state__in=UNSENT).exists()
    )


# R-ORD-10 on Postgres: one statement claims a batch of due portions (SKIP LOCKED, in
# sequence: not while the portion before is still active at the provider), locks their
# parents (after the portions: the lock order of every caller), moves the portions whose
# parent is not stopped to the relay (SCHEDULED -> QUEUED, in RELAY_TRANSITIONS) and makes
# each one's next portion due one interval later. Each row: id, parent, portion, moved.
RELEASE_SQL = """
WITH claimed AS (
    SELECT o.id, o.parent_id, o.portion, o.due_at FROM orders_order o
    WHERE o.relay_state = %(scheduled)s AND o.due_at <= %(now)s
      AND NOT EXISTS (
        SELECT 1 FROM orders_order b
        WHERE b.parent_id = o.parent_id AND b.portion = o.portion - 1
          AND b.status = ANY(%(active)s) AND NOT b.relay_state = %(closed)s
      )
    ORDER BY o.due_at LIMIT %(size)s
    FOR NO KEY UPDATE OF o SKIP LOCKED
), parents AS (
    SELECT p.id, p.stopped_at IS NOT NULL OR p.status = ANY(%(final)s) AS stopped,
           COALESCE((p.extra ->> 'interval')::integer, 0) AS minutes
    FROM orders_order p WHERE p.id IN (SELECT parent_id FROM claimed)
    ORDER BY p.id
    FOR NO KEY UPDATE OF p
), moved AS (
    UPDATE orders_order o
    SET relay_state = %(queued)s, lease_until = NULL, due_at = NULL, next_attempt_at = NULL,
        updated_at = %(now)s
    FROM claimed c JOIN parents p ON p.id = c.parent_id
    WHERE o.id = c.id AND o.relay_state = %(scheduled)s AND NOT p.stopped
    RETURNING o.id, o.parent_id, o.portion, p.minutes
), next_due AS (
    UPDATE orders_order n SET due_at = %(now)s + make_interval(mins => m.minutes)
    FROM moved m
    WHERE n.parent_id = m.parent_id AND n.portion = m.portion + 1
      AND n.relay_state = %(scheduled)s
    RETURNING n.id
)
SELECT c.id, c.parent_id, c.portion, m.id IS NOT NULL
FROM claimed c LEFT JOIN moved m ON m.id = c.id
ORDER BY c.due_at, c.id
"""


def _claim_sql(*, now, size: int) -> list[Claimed]:
    """The batch claim in one statement (Postgres); see ``RELEASE_SQL``."""
    # The move the statement makes, checked against the table like relay_move_bulk's.
    if RelayState.QUEUED not in RELAY_TRANSITIONS[RelayState.SCHEDULED]:
        raise InvalidTransition("A relay state cannot move from scheduled to queued.")
    params = {
        "now": now, "size": size, "scheduled": RelayState.SCHEDULED,
        "queued": RelayState.QUEUED, "closed": RelayState.CLOSED,
        "active": list(ACTIVE_STATUSES), "final": list(FINAL_STATUSES),
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(RELEASE_SQL, params)
        return [tuple(row) for row in cursor.fetchall()]


def _claim_orm(*, now, size: int) -> list[Claimed]:
    """The same claim through the ORM, a few statements (SQLite: ``make run``'s default)."""
    # In sequence: a portion waits while the one before it is still active at the
    # provider (which would refuse a second active order on the same link).
    before_active = Order.objects.filter(
        parent_id=OuterRef("parent_id"),
        portion=OuterRef("portion") - 1,
        status__in=ACTIVE_STATUSES,
    ).exclude(relay_state=RelayState.CLOSED)
    rows = list(
        Order.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
        .filter(relay_state=RelayState.SCHEDULED, due_at__lte=now)
        .filter(~Exists(before_active))
        .order_by("due_at")
        .values_list("pk", "parent_id", "portion")[:size]
    )
    if not rows:
        return []
    parents = {
        pk: (stopped_at is not None or status in FINAL_STATUSES, int(extra.get("interval") or 0))
        for pk, stopped_at, status, extra in Order.objects.select_for_update(
            no_key=True, of=("self",)
        )
        .filter(pk__in={parent_id for _, parent_id, _ in rows})
        .order_by("pk")
        .values_list("pk", "stopped_at", "status", "extra")
    }
    go = [(pk, parent_id, number) for pk, parent_id, number in rows if not parents[parent_id][0]]
    if go:
        relay_move_bulk(
            queryset=Order.objects.filter(pk__in=[pk for pk, _, _ in go]),
            old=RelayState.SCHEDULED,
            new=RelayState.QUEUED,
            due_at=None,
            next_attempt_at=None,
            updated_at=now,
        )
        # The next portion of each parent becomes due one interval later (R-ORD-10):
        # one UPDATE per interval, parents grouped by the number of the next portion.
        groups: dict[int, dict[int, list[int]]] = {}
        for _, parent_id, number in go:
            interval = parents[parent_id][1]
            groups.setdefault(interval, {}).setdefault((number or 0) + 1, []).append(parent_id)
        for interval, by_number in groups.items():
            match = Q()
            for number, parent_ids in by_number.items():
                match |= Q(parent_id__in=parent_ids, portion=number)
            Order.objects.filter(match, relay_state=RelayState.SCHEDULED).update(
                due_at=now + timedelta(minutes=interval)
            )
    return [(pk, parent_id, number, not parents[parent_id][0]) for pk, parent_id, number in rows]


def _claim(*, now, size: int) -> list[Claimed]:
    if connection.vendor == "postgresql":
        return _claim_sql(now=now, size=size)
    return _claim_orm(now=now, size=size)


def _release_batch(*, now, size: int) -> int:
    """Claim up to ``size`` due portions and hand them to the relay; how many were claimed.

    The portions of a parent stopped meanwhile (a stop skips the portions a release holds)
    are closed here, with their return; the others go to the relay in one message."""
    from orders.tasks import orders_relay_batch_task

    with transaction.atomic():
        rows = _claim(now=now, size=size)
        if not rows:
            return 0
        stopped: dict[int, list[int]] = {}
        for pk, parent_id, _, moved in rows:
            if not moved:
                stopped.setdefault(parent_id, []).append(pk)
        if not stopped:
            claim_commit_unflushed()
        else:  # the parents are locked already (by the claim)
            parents = Order.objects.filter(pk__in=list(stopped)).only(*PARENT_FIELDS).in_bulk()
            for parent_id, ids in stopped.items():
                _portions_close(
                    parent=parents[parent_id], ids=ids, cause=Cause.SCHEDULE, actor=None,
                    note="Stopped before it was sent.",
                )  # fmt: skip
                dripfeed_parent_sync(parent_id=parent_id)
        go_ids = [pk for pk, _, _, moved in rows if moved]
        if go_ids:
            enqueue_on_commit(orders_relay_batch_task, go_ids)  # else the relay sweep sends
    return len(rows)


def dripfeed_release_due(*, size: int | None = None, max_batches: int | None = None) -> int:
    """Beat: release due portions to the relay, in batches; returns how many were claimed."""
    size = size or settings.ORDERS_DUE_BATCH
    max_batches = max_batches or settings.ORDERS_DUE_MAX_BATCHES
    claimed = 0
    for _ in range(max_batches):
        count = _release_batch(now=timezone.now(), size=size)
        claimed += count
        if count == 0:  # a short batch may only mean rows another worker holds
            break
    return claimed
