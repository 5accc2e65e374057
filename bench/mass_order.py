"""Mass Order with 1,000 lines, end to end: the POST of the page until its answer is rendered.

Every line is parsed, validated, priced, charged and recorded in its own transaction, the
relay gets its one message on Redis, and the page lists the 1,000 results. Limit: 2 s.

    .venv/bin/python bench/mass_order.py [--lines 1000] [--runs 3]
"""

import argparse
import re
import statistics
import time
from decimal import Decimal

from common import django_on_bench_database

LIMIT_SECONDS = 2.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    connection = django_on_bench_database()
    from django.conf import settings
    from django.test import Client

    from billing.services import deposit_credit
    from catalog.models import Category, Service
    from smmpanel.celery import app as celery_app
    from tests.factories import UserFactory

    queue = "bench-mass-order"
    celery_app.conf.task_always_eager = False  # the relay message goes to Redis, as live
    celery_app.conf.task_default_queue = queue
    settings.ORDERS_MASS_MAX_LINES = max(settings.ORDERS_MASS_MAX_LINES, args.lines)

    stamp = int(time.time())
    user = UserFactory(username=f"bench-mass-{stamp}")
    deposit_credit(user=user, amount=Decimal("100000.00"), manual=True, memo="bench")
    category, _ = Category.objects.get_or_create(name="Bench Followers")
    services = [
        Service.objects.create(
            category=category, name=f"Bench service {n}", rate=Decimal("0.50") + n,
            min_quantity=10, max_quantity=100000, link_rule="instagram",
        )
        for n in range(5)
    ]  # fmt: skip
    client = Client()
    client.force_login(user)

    def text(run: int, count: int) -> str:
        return "\n".join(
            f"{services[n % 5].pk} | https://www.instagram.com/bench{stamp}r{run}n{n}/ | {100 + n}"
            for n in range(count)
        )

    client.post("/orders/mass/", {"orders": text(-1, 20)})  # warm up
    print(f"Mass Order, {args.lines} lines per POST, database {connection.settings_dict['NAME']}")
    timings = []
    for run in range(args.runs):
        body = {"orders": text(run, args.lines)}
        started = time.perf_counter()
        response = client.post("/orders/mass/", body)
        elapsed = time.perf_counter() - started
        placed = re.search(r"(\d+) orders? placed", response.content.decode())
        count = int(placed.group(1)) if placed else 0
        if count != args.lines:
            raise SystemExit(f"run {run + 1}: only {count} of {args.lines} lines were placed")
        timings.append(elapsed)
        print(
            f"  run {run + 1}: {elapsed:6.3f} s   {elapsed / args.lines * 1000:6.3f} ms a line   "
            f"{count} orders placed"
        )
    with celery_app.connection_for_write() as broker:
        # Nobody consumes the queue here (the relay is not the subject): drop its messages,
        # its priority lists and its exchange's bindings.
        client = broker.default_channel.client
        for pattern in (f"{queue}*", f"_kombu.binding*.{queue}"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)
    median = statistics.median(timings)
    verdict = "OK" if median < LIMIT_SECONDS else "OVER THE LIMIT"
    print(f"median {median:.3f} s for {args.lines} lines; limit {LIMIT_SECONDS:.1f} s: {verdict}")


if __name__ == "__main__":
    main()
