"""Every write of the statistics: page visits counted, daily rows and the snapshot refreshed.

Page visits are counted in Redis (one HINCRBY per page view, no database write on the request
path) and moved into ``DailyVisit`` by ``visits_flush``; without Redis (the embedded default)
they are counted in the database directly.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.money import ZERO, quantize

from .models import DailyFigures, DailyVisit, ProviderCalls, Snapshot

logger = logging.getLogger(__name__)
VISITS_KEY = "stats:visits:"
FLUSHING_KEY = "stats:flushing:"
CALLS_KEY = "stats:calls:"
CALLS_FLUSHING_KEY = "stats:calls-flushing:"


def _redis():
    """The Redis client of the cache, or None on the embedded default."""
    if not settings.REDIS_URL:
        return None
    from django.core.cache import cache

    return cache._cache.get_client(write=True)


def _prefix() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX', '')}:"


def _visit_add(*, day: dt.date, page: str, country: str, count: int) -> None:
    """Add ``count`` visits to the day's row (an upsert: no read, no race)."""
    table = DailyVisit._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, page, country, count) VALUES (%s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (day, page, country) DO UPDATE SET count = "
            f"{table}.count + EXCLUDED.count",
            [day, page[:100], country[:2], count],
        )


def visit_count(*, page: str, country: str, day: dt.date | None = None) -> None:
    """Count one visit of ``page`` (a URL name) from ``country`` (R-PRV-2)."""
    day = day or timezone.now().date()
    client = _redis()
    if client is None:
        _visit_add(day=day, page=page, country=country, count=1)
        return
    key = f"{_prefix()}{VISITS_KEY}{day.isoformat()}"
    pipe = client.pipeline()
    pipe.hincrby(key, f"{page}|{country}", 1)
    pipe.expire(key, 14 * 86400)
    pipe.execute()


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def visits_flush() -> int:
    """Move the counted visits from Redis into ``DailyVisit``; returns the visits moved."""
    client = _redis()
    if client is None:
        return 0
    prefix = _prefix()
    moved = 0
    for raw in list(client.scan_iter(match=f"{prefix}{VISITS_KEY}*", count=100)):
        key = _text(raw)
        day_key = key.rsplit(":", 1)[-1]
        flushing = f"{prefix}{FLUSHING_KEY}{day_key}:{timezone.now().timestamp()}"
        # RENAMENX is atomic: new visits go to a fresh key; a key gone meanwhile is skipped.
        if not client.exists(key) or not client.renamenx(key, flushing):
            logger.info("stats: %s was flushed by another run", key)
    for raw in list(client.scan_iter(match=f"{prefix}{FLUSHING_KEY}*", count=100)):
        key = _text(raw)
        day = dt.date.fromisoformat(key[len(prefix) + len(FLUSHING_KEY) :].split(":", 1)[0])
        counts = client.hgetall(key)
        with transaction.atomic():
            for field, value in counts.items():
                page, _, country = _text(field).partition("|")
                _visit_add(day=day, page=page, country=country, count=int(value))
                moved += int(value)
        client.delete(key)
    return moved


def _calls_add(*, day: dt.date, provider_id: int, outcome: str, reason: str, count: int,
               total_ms: int) -> None:  # fmt: skip
    table = ProviderCalls._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, provider_id, outcome, reason, count, total_ms) "  # noqa: S608
            "SELECT %s, %s, %s, %s, %s, %s WHERE EXISTS "
            "(SELECT 1 FROM catalog_provider WHERE id = %s) "
            "ON CONFLICT (day, provider_id, outcome, reason) DO UPDATE SET "
            f"count = {table}.count + EXCLUDED.count, "
            f"total_ms = {table}.total_ms + EXCLUDED.total_ms",
            [day, provider_id, outcome[:16], reason[:32], count, total_ms, provider_id],
        )


def provider_call_record(*, provider_id: int, outcome: str, reason: str, seconds: float) -> None:
    """Count one call to a provider with its outcome, reason and time (provider health).
    Called by ``catalog.provider_client`` after every call; never raises."""
    try:
        day = timezone.now().date()
        ms = max(int(seconds * 1000), 0)
        client = _redis()
        if client is None:
            _calls_add(day=day, provider_id=provider_id, outcome=str(outcome),
                       reason=str(reason), count=1, total_ms=ms)  # fmt: skip
            return
        key = f"{_prefix()}{CALLS_KEY}{day.isoformat()}"
        field = f"{provider_id}|{outcome}|{reason}"
        pipe = client.pipeline()
        pipe.hincrby(key, f"{field}|n", 1)
        pipe.hincrby(key, f"{field}|ms", ms)
        pipe.expire(key, 14 * 86400)
        pipe.execute()
    except Exception:  # statistics never break a provider call
        logger.exception("stats: a provider call was not counted")


def provider_calls_flush() -> int:
    """Move the counted provider calls from Redis into ``ProviderCalls``."""
    client = _redis()
    if client is None:
        return 0
    prefix = _prefix()
    moved = 0
    for raw in list(client.scan_iter(match=f"{prefix}{CALLS_KEY}*", count=100)):
        key = _text(raw)
        day_key = key.rsplit(":", 1)[-1]
        flushing = f"{prefix}{CALLS_FLUSHING_KEY}{day_key}:{timezone.now().timestamp()}"
        if not client.exists(key) or not client.renamenx(key, flushing):
            logger.info("stats: %s was flushed by another run", key)
    for raw in list(client.scan_iter(match=f"{prefix}{CALLS_FLUSHING_KEY}*", count=100)):
        key = _text(raw)
        day = dt.date.fromisoformat(key[len(prefix) + len(CALLS_FLUSHING_KEY) :].split(":", 1)[0])
        totals: dict[tuple[int, str, str], list[int]] = {}
        for field, value in client.hgetall(key).items():
            provider_text, outcome, reason, kind = _text(field).split("|")
            entry = totals.setdefault((int(provider_text), outcome, reason), [0, 0])
            entry[0 if kind == "n" else 1] += int(value)
        with transaction.atomic():
            for (provider_id, outcome, reason), (count, total_ms) in totals.items():
                _calls_add(day=day, provider_id=provider_id, outcome=outcome, reason=reason,
                           count=count, total_ms=total_ms)  # fmt: skip
                moved += count
        client.delete(key)
    return moved


def _provider_health(*, provider_id: int, since: dt.date) -> dict:
    rows = ProviderCalls.objects.filter(provider_id=provider_id, day__gte=since)
    calls = errors = total_ms = 0
    by_reason: dict[str, int] = {}
    for row in rows:
        calls += row.count
        total_ms += row.total_ms
        if row.outcome != "ok":
            errors += row.count
            by_reason[row.reason] = by_reason.get(row.reason, 0) + row.count
    return {
        "calls": calls,
        "error_rate": round(100 * errors / calls, 1) if calls else None,
        "errors_by_reason": dict(sorted(by_reason.items(), key=lambda item: -item[1])),
        "latency_ms": round(total_ms / calls) if calls else None,
    }


def _bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _money(value) -> Decimal:
    return quantize(value or ZERO)


def day_refresh(*, day: dt.date) -> DailyFigures:
    """Recompute one day's figures from the source tables (range scans on that day only)."""
    from accounts.models import SignIn
    from billing.models import Deposit
    from orders.models import Order

    start, end = _bounds(day)
    money = DecimalField(max_digits=20, decimal_places=5)
    whole = IntegerField()
    delivered = Case(
        When(status="canceled", then=Value(0)),
        When(
            status="partial",
            then=ExpressionWrapper(
                F("quantity") - Coalesce(F("remains"), Value(0)), output_field=whole
            ),
        ),
        default=F("quantity"),
        output_field=whole,
    )
    rows = (
        Order.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by()
        .values("status")
        .annotate(
            n=Count("id"),
            sales=Sum(F("charge") - F("refunded"), output_field=money),
            cost=Sum(
                F("provider_service__provider_rate") * delivered / Value(Decimal(1000)),
                output_field=money,
            ),
        )
    )
    by_status, sales, cost, count = {}, ZERO, ZERO, 0
    for row in rows:
        by_status[row["status"]] = row["n"]
        count += row["n"]
        sales += row["sales"] or ZERO
        cost += row["cost"] or ZERO
    deposits = Deposit.objects.filter(
        status=Deposit.Status.CREDITED, credited_at__gte=start, credited_at__lt=end
    ).aggregate(total=Sum("amount"), n=Count("id"))
    sign_ins = SignIn.objects.filter(at__gte=start, at__lt=end)
    people = sign_ins.aggregate(
        total=Count("id"), new=Count("id", filter=Q(user__date_joined__gte=start))
    )
    countries = dict(
        sign_ins.order_by()
        .values_list("country")
        .annotate(n=Count("id"))
        .values_list("country", "n")
    )
    registrations = (
        get_user_model().objects.filter(date_joined__gte=start, date_joined__lt=end).count()
    )
    figures, _ = DailyFigures.objects.update_or_create(
        day=day,
        defaults={
            "deposits": _money(deposits["total"]),
            "deposits_count": deposits["n"],
            "sales": _money(sales),
            "provider_cost": _money(cost),
            "gross_profit": _money(sales) - _money(cost),
            "orders": count,
            "orders_by_status": by_status,
            "registrations": registrations,
            "sign_ins": people["total"],
            "sign_ins_new": people["new"],
            "sign_ins_returning": people["total"] - people["new"],
            "countries": {code or "??": n for code, n in countries.items()},
        },
    )
    return figures


def _open_tickets() -> int | None:
    """Open tickets, if the support desk has a ``Ticket`` model (None until then)."""
    try:
        ticket = apps.get_model("support", "Ticket")
    except LookupError:
        return None
    names = {field.name for field in ticket._meta.get_fields()}
    if "status" in names:
        return ticket.objects.exclude(status__in=["closed", "resolved", "done"]).count()
    if "closed_at" in names:
        return ticket.objects.filter(closed_at__isnull=True).count()
    return ticket.objects.count()


def snapshot_refresh() -> Snapshot:
    """The live figures: orders by status, stuck orders, provider health, open tickets."""
    from catalog.models import Provider
    from orders.models import STAFF_QUEUE_STATES, Order

    now = timezone.now()
    by_status = dict(
        Order.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    queue = Order.objects.filter(relay_state__in=STAFF_QUEUE_STATES).exclude(
        status__in=["completed", "partial", "canceled"]
    )
    stuck_before = now - dt.timedelta(hours=settings.STATS_STUCK_HOURS)
    too_long = Order.objects.filter(
        status__in=["in_progress", "processing"], updated_at__lt=stuck_before
    )
    by_state = dict(queue.order_by().values_list("relay_state").annotate(n=Count("id")))
    day_ago = now - dt.timedelta(hours=24)
    providers = []
    for provider in Provider.objects.order_by("name"):
        low = provider.balance is not None and provider.balance < provider.balance_alert_threshold
        providers.append(
            {
                "id": provider.pk,
                "name": provider.name,
                "status": provider.status,
                "balance": str(provider.balance) if provider.balance is not None else None,
                "currency": provider.currency,
                "balance_low": low,
                "balance_checked_at": provider.balance_checked_at.isoformat()
                if provider.balance_checked_at
                else None,
                "last_error": provider.last_error[:200],
                "waiting": queue.filter(provider=provider).count(),
                "failed_24h": Order.objects.filter(
                    provider=provider,
                    relay_state__in=["failed", "reconcile"],
                    updated_at__gte=day_ago,
                ).count(),
                "placed_24h": Order.objects.filter(
                    provider=provider, relay_state="placed", updated_at__gte=day_ago
                ).count(),
                **_provider_health(provider_id=provider.pk, since=day_ago.date()),
            }
        )
    data = {
        "orders_by_status": by_status,
        "staff_queue": by_state,
        "staff_queue_total": sum(by_state.values()),
        "ambiguous": by_state.get("reconcile", 0),
        "too_long": too_long.count(),
        "too_long_ids": list(too_long.order_by("updated_at").values_list("pk", flat=True)[:10]),
        "stuck_hours": settings.STATS_STUCK_HOURS,
        "providers": providers,
        "open_tickets": _open_tickets(),
    }
    snapshot, _ = Snapshot.objects.update_or_create(key="live", defaults={"data": data})
    return snapshot


def stats_refresh(*, days: int | None = None) -> int:
    """Beat: visits into the database, the recent days recomputed, the snapshot refreshed."""
    visits_flush()
    provider_calls_flush()
    today = timezone.now().date()
    days = days or settings.STATS_RECOMPUTE_DAYS
    for back in range(days):
        day_refresh(day=today - dt.timedelta(days=back))
    snapshot_refresh()
    return days
