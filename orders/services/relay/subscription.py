"""Subscriptions run by the panel (R-ORD-11).

A Subscriptions order is a *parent* (charged nothing at placement, never sent itself) with
a ``Subscription`` row: the account's ``username``, the ``min``/``max`` per post, how many
new ``posts`` (none: until canceled or ``expiry``), ``delay`` minutes after a post, and
``old_posts`` existing posts served first, one a beat. The panel
runs *cycles* on that schedule: the beat task ``subscriptions_due`` claims due
subscriptions (``next_cycle_at`` passed) with ``SELECT ... FOR UPDATE SKIP LOCKED`` in
batches; each cycle is an order of its own (``parent`` = the subscription's order),
charged when it runs and sent through the relay like any order.

A cycle that the balance cannot fund is skipped and recorded ("skipped: not enough
funds"), never retried; after ``ORDERS_SUBSCRIPTION_MAX_SKIPPED`` skipped in a row the
subscription pauses and the customer is told (``accounts.services.notice_send``). The
customer can cancel (``subscription_cancel``) or resume a paused one.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from billing.exceptions import InsufficientFunds
from catalog.models import Service
from orders.exceptions import CancelRefused, IncorrectRequest
from orders.models import FINAL_STATUSES, Order, OrderEvent, Subscription, SubscriptionCycle
from orders.services.lifecycle import order_event_add, order_transition, orders_locking

Status = Order.Status
Cause = OrderEvent.Cause
State = Subscription.State
# API_V2.md: the delays a subscription may ask for, in minutes.
DELAYS = (0, 5, 10, 15, 30, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600)
SKIPPED_NOTE = "skipped: not enough funds"
COPIED = (
    "user_id", "service_id", "link", "source", "service_name", "rate", "min_quantity",
    "max_quantity", "can_cancel", "refill", "refill_days", "dripfeed", "beta",
)  # fmt: skip


def _number(extra: dict, name: str, *, required: bool = False, minimum: int = 0) -> int | None:
    value = extra.get(name)
    if value is None or str(value).strip() == "":
        if required:
            raise IncorrectRequest(gettext("Enter %(name)s.") % {"name": name}, field=name)
        return None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9:
        raise IncorrectRequest(
            gettext("Enter a whole number for %(name)s.") % {"name": name}, field=name
        )
    number = int(text)
    if number < minimum:
        raise IncorrectRequest(
            gettext("%(name)s must be at least %(minimum)s.") % {"name": name, "minimum": minimum},
            field=name,
        )
    return number


def subscription_fields(*, service: Service, extra: dict, today: date | None = None) -> dict:
    """Check a Subscriptions ``add``'s fields (API_V2.md); the values to store, or raises
    ``IncorrectRequest`` with the field it concerns. ``min``/``max`` are within the service's
    limits (the caller checks them as the quantity)."""
    username = str(extra.get("username") or "").strip()
    if not username or len(username) > 200 or any(c.isspace() for c in username):
        raise IncorrectRequest(gettext("Enter the account's username."), field="username")
    low = _number(extra, "min", required=True, minimum=1) or 1
    high = _number(extra, "max", required=True, minimum=1) or 1
    if low > high:
        raise IncorrectRequest(gettext("min cannot be above max."), field="min")
    posts = _number(extra, "posts", minimum=1)
    old_posts = _number(extra, "old_posts") or 0
    delay = _number(extra, "delay") or 0
    if delay not in DELAYS:
        raise IncorrectRequest(
            gettext("The delay is one of %(delays)s minutes.")
            % {"delays": ", ".join(map(str, DELAYS))},
            field="delay",
        )
    expiry = str(extra.get("expiry") or "").strip()
    if expiry:
        try:
            day = datetime.strptime(expiry, "%d/%m/%Y").date()  # noqa: DTZ007 - a date only
        except ValueError:
            raise IncorrectRequest(
                gettext("The expiry is a date as d/m/Y."), field="expiry"
            ) from None
        if day <= (today or timezone.now().date()):
            raise IncorrectRequest(gettext("The expiry must be a future date."), field="expiry")
        expiry = day.strftime("%d/%m/%Y")
    return {
        "username": username, "min": low, "max": high, "posts": posts, "old_posts": old_posts,
        "delay": delay, "expiry": expiry,
    }  # fmt: skip


def subscription_create(*, order: Order) -> Subscription:
    """The schedule of a just-placed Subscriptions order (inside its transaction)."""
    fields = order.extra
    expiry = fields.get("expiry") or ""
    return Subscription.objects.create(
        order=order,
        username=fields["username"],
        min_quantity=fields["min"],
        max_quantity=fields["max"],
        posts=fields.get("posts"),
        old_posts=fields.get("old_posts") or 0,
        delay=fields.get("delay") or 0,
        expiry=datetime.strptime(expiry, "%d/%m/%Y").date() if expiry else None,  # noqa: DTZ007
        # Old posts are served at once; new ones ``delay`` minutes after they appear.
        next_cycle_at=timezone.now()
        + timedelta(minutes=0 if fields.get("old_posts") else fields.get("delay") or 0),
    )


def _end(
    sub: Subscription, parent: Order, *, state: str, status: str, note: str, cause, actor=None
) -> None:
    sub.state = state
    sub.next_cycle_at = None
    sub.save()
    if parent.status not in FINAL_STATUSES:
        if status == Status.CANCELED:
            parent.remains = parent.quantity
        else:
            parent.remains = 0
        order_transition(order=parent, new=status, cause=cause, actor=actor, note=note)


def _cycle_order(sub: Subscription, parent: Order, quantity: int) -> Order:
    """A cycle's order, charged now (R-ORD-11, R-ORD-2); raises ``InsufficientFunds``."""
    from orders.services.placement import order_charge, order_insert_charged

    charge = order_charge(service=parent.service, rate=parent.rate, quantity=quantity)
    cycle = Order(
        **{name: getattr(parent, name) for name in COPIED},
        parent=parent,
        quantity=quantity,
        charge=charge,
        service_type=Service.Type.DEFAULT,  # one post's delivery
        extra={"username": sub.username, "subscription": sub.pk},
    )
    cycle.user = parent.user  # the loaded row, not a query for it
    with transaction.atomic():  # a refused spend leaves no order behind
        order_insert_charged(cycle, memo_note=f" (subscription #{parent.pk})")
    OrderEvent.objects.create(
        order=cycle, new_status=Status.PENDING, cause=Cause.SCHEDULE,
        note=f"Cycle of subscription order #{parent.pk}.",
    )  # fmt: skip
    from orders.services.relay.common import relay_dispatch

    relay_dispatch(cycle.pk)
    return cycle


def _run_cycle(sub: Subscription, now) -> None:
    """One due cycle of a locked subscription: order it, or skip it and say so."""
    parent = orders_locking().get(pk=sub.order_id)
    if sub.expiry is not None and now.date() >= sub.expiry:
        _end(sub, parent, state=State.EXPIRED, status=Status.COMPLETED,
             note="The subscription expired.", cause=Cause.SCHEDULE)  # fmt: skip
        return
    from legal.selectors import order_held

    if order_held(order=parent):  # R-AUP-2: no charge while staff review; the cycle waits
        sub.next_cycle_at = now + timedelta(minutes=settings.ORDERS_SUBSCRIPTION_CYCLE_MINUTES)
        sub.save(update_fields=["next_cycle_at"])
        return
    number = sub.cycles.count() + 1
    quantity = random.randint(sub.min_quantity, sub.max_quantity)  # noqa: S311 - not security
    cycle = None
    try:
        cycle = _cycle_order(sub, parent, quantity)
    except InsufficientFunds:
        sub.skipped_in_row += 1
        SubscriptionCycle.objects.create(
            subscription=sub, number=number, outcome=SubscriptionCycle.Outcome.SKIPPED,
            note=SKIPPED_NOTE,
        )  # fmt: skip
        order_event_add(order=parent, cause=Cause.SCHEDULE, note=f"Cycle {number} {SKIPPED_NOTE}.")
    else:
        sub.skipped_in_row = 0
        sub.posts_done += 1
        SubscriptionCycle.objects.create(
            subscription=sub, number=number, outcome=SubscriptionCycle.Outcome.ORDERED,
            order=cycle, note=f"{quantity} ordered: order #{cycle.pk}.",
        )  # fmt: skip
        if parent.status == Status.PENDING:
            order_transition(order=parent, new=Status.IN_PROGRESS, cause=Cause.SCHEDULE)
    if number < sub.old_posts:
        sub.next_cycle_at = now  # the next old post, at the next beat
    else:
        minutes = settings.ORDERS_SUBSCRIPTION_CYCLE_MINUTES + (
            sub.delay if number == sub.old_posts else 0
        )
        sub.next_cycle_at = now + timedelta(minutes=minutes)
    new_posts = sub.cycles.filter(
        outcome=SubscriptionCycle.Outcome.ORDERED, number__gt=sub.old_posts
    ).count()
    if sub.posts is not None and new_posts >= sub.posts:
        _end(sub, parent, state=State.COMPLETED, status=Status.COMPLETED,
             note=f"All {sub.posts} posts ordered.", cause=Cause.SCHEDULE)  # fmt: skip
        return
    if sub.skipped_in_row >= settings.ORDERS_SUBSCRIPTION_MAX_SKIPPED:
        sub.state = State.PAUSED
        sub.next_cycle_at = None
        paused = gettext_noop(
            "Paused after %(count)s cycles in a row skipped for lack of funds. "
            "Add funds, then resume it on the order's page."
        )
        params = {"count": sub.skipped_in_row, "number": parent.pk}
        # The order's history keeps English like its other notes; the notice is the customer's.
        order_event_add(order=parent, cause=Cause.SCHEDULE, note=paused % params)
        from accounts.notices import notice_text
        from accounts.services import notice_send

        notice_send(
            user=parent.user, kind="subscription_paused",
            subject=notice_text(
                gettext_noop("Subscription #%(number)s paused: not enough funds"), **params
            ),
            body=notice_text(paused, **params),
            url=reverse("orders:detail", args=[parent.pk]),
        )  # fmt: skip
    sub.save()


def subscriptions_due(*, size: int | None = None, max_batches: int | None = None) -> int:
    """Beat: run the due cycles, in batches claimed with SKIP LOCKED; returns how many ran."""
    size = size or settings.ORDERS_DUE_BATCH
    max_batches = max_batches or settings.ORDERS_DUE_MAX_BATCHES
    ran = 0
    for _ in range(max_batches):
        now = timezone.now()
        with transaction.atomic():
            subs = list(
                Subscription.objects.select_for_update(skip_locked=True)
                .filter(state=State.ACTIVE, next_cycle_at__lte=now)
                .order_by("next_cycle_at")[:size]
            )
            for sub in subs:
                _run_cycle(sub, now)
        ran += len(subs)
        if len(subs) < size:
            break
    return ran


def subscription_cancel(*, user, order: Order, actor=None, note: str = "") -> None:
    """The customer cancels a subscription (R-ORD-11): no more cycles; cycles already
    ordered go on. Nothing was charged for the subscription itself, so nothing returns."""
    with transaction.atomic():
        # The lock order of the cycles: the subscription, then its order.
        sub = Subscription.objects.select_for_update().get(order_id=order.pk, order__user=user)
        parent = orders_locking().get(pk=order.pk, user=user)
        if sub.state in (State.CANCELED, State.COMPLETED, State.EXPIRED):
            raise CancelRefused(
                gettext("This subscription is already %(state)s.")
                % {"state": sub.get_state_display().lower()}
            )
        _end(sub, parent, state=State.CANCELED, status=Status.CANCELED,
             note=note or "Canceled at your request.",
             cause=Cause.STAFF if actor is not None else Cause.CUSTOMER,
             actor=actor or user)  # fmt: skip


def subscription_resume(*, user, order: Order) -> None:
    """The customer resumes a paused subscription (after adding funds)."""
    with transaction.atomic():
        sub = Subscription.objects.select_for_update().get(order_id=order.pk, order__user=user)
        parent = orders_locking().get(pk=order.pk, user=user)
        if sub.state != State.PAUSED:
            raise CancelRefused(gettext("Only a paused subscription can be resumed."))
        sub.state = State.ACTIVE
        sub.skipped_in_row = 0
        sub.next_cycle_at = timezone.now()
        sub.save()
        order_event_add(order=parent, cause=Cause.CUSTOMER, actor=user, note="Resumed.")


def subscription_expiry_text(sub: Subscription) -> str:
    return sub.expiry.strftime("%d/%m/%Y") if sub.expiry else ""
