"""Benchmark: one beat tick over due rows (drip-feed portions, refills) against the raw SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smmpanel REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/due_tick.py [--portions 100000] [--refills 20000] [--batch 100]
            [--batches 50] [--rounds 5]

Seeds (once; kept on the bench database) ``--portions`` drip-feed parents whose portion 2
is due (portion 1 delivered) and ``--refills`` queued refills. Then runs one beat tick of
``dripfeed_release_due`` (``ORDERS_DUE_MAX_BATCHES`` batches of ``--batch``: claim with
``SELECT ... FOR UPDATE SKIP LOCKED``, move to the relay, schedule the next portion, hand
the batch to Celery) and one of ``refills_due`` (claim, lease, one message each), timing
each batch. Messages go to a queue of their own on Redis, deleted at the end; no provider
is called. pgbench runs the raw SKIP LOCKED claim of one batch (claim + mark, one
transaction, rolled back) as many times, on the same rows' table: in ``--rounds`` turns,
each right after the tick's batches of that turn, so a shared machine's load swings hit
both sides alike. Both are printed per batch (medians: pgbench's per-transaction log) with
their ratio. The goal: a tick's batch at most 2x the raw SQL's.

Released rows are put back as due after each run, so the script can run again.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from common import django_on_bench_database

GOAL = 2.0
QUEUE = "bench-due-tick"
PORTION_SQL = """BEGIN;
WITH claimed AS (
  SELECT id FROM orders_order
  WHERE relay_state = 'scheduled' AND due_at <= now()
  ORDER BY due_at LIMIT {batch} FOR NO KEY UPDATE SKIP LOCKED
)
UPDATE orders_order o SET relay_state = 'queued', due_at = NULL, updated_at = now()
FROM claimed WHERE o.id = claimed.id;
ROLLBACK;
"""
REFILL_SQL = """BEGIN;
WITH claimed AS (
  SELECT id FROM orders_refill
  WHERE relay_state = 'queued' AND due_at <= now()
  ORDER BY due_at LIMIT {batch} FOR UPDATE SKIP LOCKED
)
UPDATE orders_refill r SET due_at = now() + interval '1 minute'
FROM claimed WHERE r.id = claimed.id;
ROLLBACK;
"""


def seed(*, portions: int, refills: int) -> None:
    from django.utils import timezone

    from catalog.models import Category, Service
    from orders.models import Order, Refill
    from tests.factories import UserFactory

    if Order.objects.filter(portion=2).count() >= portions and Refill.objects.count() >= refills:
        return
    print(f"seeding {portions} drip-feed parents and {refills} refills (once)...", flush=True)
    user = UserFactory(username=f"due-bench-{int(time.time())}")
    category = Category.objects.create(name=f"Bench {time.time()}", platform="instagram")
    service = Service.objects.create(
        category=category, name="Bench drip", rate=Decimal("1.00"), min_quantity=10,
        max_quantity=100000, dripfeed=True, refill=True, refill_days=30,
    )  # fmt: skip
    now = timezone.now()
    common = {
        "user": user, "service": service, "source": "api", "service_name": service.name,
        "service_type": "Default", "rate": Decimal("1.00"), "min_quantity": 10,
        "max_quantity": 100000, "refill": True, "refill_days": 30, "dripfeed": True,
    }  # fmt: skip
    step = 5000
    for start in range(0, portions, step):
        count = min(step, portions - start)
        parents = Order.objects.bulk_create(
            Order(
                **common,
                link=f"https://www.instagram.com/b{start + n}/",
                quantity=300,
                charge=Decimal("0.30"),
                paid_promotional=Decimal(0),
                paid_deposited=Decimal("0.30"),
                status="in_progress",
                relay_state="parent",
                extra={"runs": 3, "interval": 0, "quantity_per_run": 100},
            )
            for n in range(count)
        )
        children = []
        for parent in parents:
            children += [
                Order(**common, link=parent.link, quantity=100, charge=Decimal("0.10"),
                      parent=parent, portion=1, status="completed", relay_state="placed",
                      remains=0, completed_at=now),
                Order(**common, link=parent.link, quantity=100, charge=Decimal("0.10"),
                      parent=parent, portion=2, relay_state="scheduled",
                      due_at=now - timedelta(minutes=1)),
                Order(**common, link=parent.link, quantity=100, charge=Decimal("0.10"),
                      parent=parent, portion=3, relay_state="scheduled"),
            ]  # fmt: skip
        Order.objects.bulk_create(children)
        print(f"  {start + count} parents", flush=True)
    done = list(Order.objects.filter(portion=1, user=user).values_list("pk", flat=True)[:refills])
    for start in range(0, len(done), step):
        Refill.objects.bulk_create(
            Refill(order_id=pk, user=user, relay_state="queued", due_at=now)
            for pk in done[start : start + step]
        )
    print("seeded.", flush=True)


def reset() -> None:
    """Put what a run released back as due (portion 2 scheduled, portion 3 unscheduled)."""
    from django.utils import timezone

    from orders.models import Order, Refill

    past = timezone.now() - timedelta(minutes=1)
    Order.objects.filter(portion=2).exclude(relay_state="scheduled").update(
        relay_state="scheduled", due_at=past
    )
    Order.objects.filter(portion=2, due_at__isnull=True).update(due_at=past)
    Order.objects.filter(portion=3).exclude(due_at=None).update(due_at=None)
    Refill.objects.update(relay_state="queued", due_at=past)


def timed(batch_call, batches: int) -> list[float]:
    """Run up to ``batches`` batches (fewer if one claims nothing): each one's time (ms)."""
    timings = []
    for _ in range(batches):
        started = time.perf_counter()
        claimed = batch_call()
        timings.append((time.perf_counter() - started) * 1000)
        if not claimed:
            break
    return timings


def pgbench(database: str, sql: str, transactions: int) -> list[float]:
    """The raw batch SQL, ``transactions`` times, one client: each transaction's time (ms),
    from pgbench's per-transaction log."""
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / "batch.sql"
        script.write_text(sql)
        result = subprocess.run(
            ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-c", "1", "-t",
             str(transactions), "-l", "-f", str(script), database],
            capture_output=True, text=True, check=False, cwd=work,
        )  # fmt: skip
        if result.returncode != 0:
            sys.exit(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
        # Each line: client, transaction, its time in microseconds, ...
        return [
            int(line.split()[2]) / 1000
            for log in Path(work).glob("pgbench_log.*")
            for line in log.read_text().splitlines()
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portions", type=int, default=100000)
    parser.add_argument("--refills", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--batches", type=int, default=50, help="batches in one tick")
    parser.add_argument("--rounds", type=int, default=5, help="turns of tick and pgbench")
    args = parser.parse_args()

    connection = django_on_bench_database()
    from django.conf import settings
    from django.utils import timezone

    from orders.services.relay.drip import _release_batch
    from orders.services.relay.refill import refills_due
    from smmpanel.celery import app as celery_app

    celery_app.conf.task_always_eager = False  # messages go to Redis, nothing runs
    celery_app.conf.task_default_queue = QUEUE
    settings.ORDERS_DUE_BATCH = args.batch
    database = connection.settings_dict["NAME"]
    per_round = max(1, args.batches // args.rounds)
    try:
        seed(portions=args.portions, refills=args.refills)
        reset()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE orders_order")
            cursor.execute("VACUUM ANALYZE orders_refill")
        sides = {
            "drip-feed": (
                "drip-feed release (claim, move, next due, dispatch)",
                lambda: _release_batch(now=timezone.now(), size=args.batch),
                PORTION_SQL.format(batch=args.batch),
            ),
            "refills": (
                "refills due (claim, lease, dispatch)",
                lambda: refills_due(max_batches=1),
                REFILL_SQL.format(batch=args.batch),
            ),
        }
        ours: dict[str, list[float]] = {what: [] for what in sides}
        raw: dict[str, list[float]] = {what: [] for what in sides}
        for _ in range(args.rounds):
            for what, (_label, batch_call, sql) in sides.items():
                ours[what] += timed(batch_call, per_round)
                raw[what] += pgbench(database, sql, per_round)
        for what, (label, _call, _sql) in sides.items():
            print(f"{label}: {len(ours[what])} batches, {statistics.median(ours[what]):.2f} ms "
                  f"per batch (median), {sum(ours[what]) / 1000:.2f} s the tick")  # fmt: skip
        for what in sides:
            per_batch = statistics.median(ours[what])
            raw_batch = statistics.median(raw[what])
            ratio = per_batch / raw_batch if raw_batch else float("inf")
            verdict = "ok" if ratio <= GOAL else f"above the goal of {GOAL}x"
            print(f"{what}: {per_batch:.2f} ms per batch of {args.batch} vs raw SQL "
                  f"{raw_batch:.2f} ms (pgbench, median): {ratio:.1f}x, {verdict}; "
                  f"{args.batch / per_batch * 1000:.0f} rows/s")  # fmt: skip
    finally:
        reset()
        with celery_app.connection_for_write() as broker:
            client = broker.default_channel.client
            for pattern in (f"{QUEUE}*", f"_kombu.binding*.{QUEUE}"):
                for key in client.scan_iter(match=pattern):
                    client.delete(key)


if __name__ == "__main__":
    main()
