"""The operator dashboard with 1,000,000 orders in Postgres: its p95 beside the 200 ms limit.

The orders are the ones of ``bench/orders_page.py`` (one ``INSERT ... SELECT ...
generate_series``, kept in the bench database for the next runs). The beat task
``stats.refresh`` is run once first, as it runs every few minutes in production (its time is
printed for information: it reads one day of orders per day row through a BRIN index, and
counts the statuses once); then the dashboard is asked for through Django's test client as
a superuser with TOTP: the whole request, sessions, middleware, the template, the SVG charts.

    .venv/bin/python bench/dashboard.py [--orders 1000000] [--requests 200] [--days 30]
"""

import argparse
import time

from common import django_on_bench_database, percentile, summary_ms
from orders_page import make_orders

LIMIT_MS = 200.0
ADMIN = "bench-dashboard-admin"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()

    django_on_bench_database()
    from allauth.mfa.models import Authenticator
    from django.contrib.auth import get_user_model
    from django.test import Client

    from orders.models import Order
    from stats.services import day_refresh, stats_refresh

    make_orders(args.orders)
    print(f"{Order.objects.count():,} orders in the bench database", flush=True)

    started = time.perf_counter()
    stats_refresh(days=args.days)
    print(f"stats.refresh over {args.days} days (beat, information): "
          f"{(time.perf_counter() - started) * 1000:.0f} ms")  # fmt: skip
    from django.utils import timezone

    day_times = []
    for _ in range(5):
        started = time.perf_counter()
        day_refresh(day=timezone.now().date())
        day_times.append(time.perf_counter() - started)
    print(f"one day's row (information)\n  refresh  {summary_ms(day_times)}")

    user, _ = get_user_model().objects.get_or_create(
        username=ADMIN, defaults={"email": f"{ADMIN}@example.com", "is_staff": True,
                                  "is_superuser": True},
    )  # fmt: skip
    Authenticator.objects.get_or_create(
        user=user, type=Authenticator.Type.TOTP, defaults={"data": {"secret": "bench"}}
    )
    client = Client()
    client.force_login(user)
    times = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = client.get("/staff/dashboard/")
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"the dashboard answered {response.status_code}")
    p95 = percentile([t * 1000 for t in times], 95)
    print(f"dashboard page ({args.requests} requests)\n  page     {summary_ms(times)}")
    verdict = "OK" if p95 < LIMIT_MS else "OVER THE LIMIT"
    print(f"\ndashboard p95 {p95:.2f} ms; limit {LIMIT_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
