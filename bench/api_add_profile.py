"""Where the time of one API `add` goes: Postgres, Redis, Python (and which Python).

    .venv/bin/python bench/api_add.py --seconds 2     # once: prepares the bench database
    .venv/bin/python bench/api_add_profile.py [--adds 300] [--top 25] [--sort tottime]

Runs `add`s in this process through Django's whole stack (test client: middleware, the API
view, rate limits, `order_place`) with production settings on bench/api_add.py's database,
after a warm-up, one account per add in turn. Prints the wall time per add split into time
waiting on Postgres (every statement, from the cursor call to its answer), on Redis (every
command) and the rest (Python), the statement and command counts, then cProfile's top
functions by cumulative time.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from api_add import API_KEY_PEPPER, DB, KEY_PREFIX, QUEUE, REDIS_URL, ROOT  # noqa: E402


class Timer:
    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def timed(self, call):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return wrapper


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adds", type=int, default=300, help="calls to time")
    parser.add_argument("--action", default="add", choices=["add", "status", "status100"],
                        help="status: one order's status; status100: 100 of them")  # fmt: skip
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative", help="cProfile order, e.g. tottime")
    return parser.parse_args()


def main() -> None:  # noqa: PLR0915  one script, read top to bottom
    args = _args()
    bench_dir = ROOT / "var" / f"bench_{DB}"
    if not (bench_dir / "keys.txt").exists():
        sys.exit(f"Run bench/api_add.py first: it prepares {DB}.")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench_settings",
        DEBUG="0",
        SECRET_KEY="profile-" + "x" * 50,
        API_KEY_PEPPER=API_KEY_PEPPER,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=KEY_PREFIX,
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="0",
        FIELD_ENCRYPTION_KEYS="XBPyimAUqR5lgsDvT1mUVuZ5jjq22hVPKso-YVBj2hs=",
        API_RATE_LIMIT_PER_ACCOUNT="100000000/s",
        API_RATE_LIMIT_PER_IP="100000000/s",
    )
    import django

    django.setup()
    import redis.connection
    from django.db import connection
    from django.test import Client

    keys = (bench_dir / "keys.txt").read_text().split()
    service = (bench_dir / "service.txt").read_text().strip()
    client = Client()
    counter = iter(range(10**9))

    placed: dict[str, int] = {}

    def add(key: str | None = None) -> None:
        n = next(counter)
        key = key or keys[n % len(keys)]
        response = client.post(
            "/api/v2",
            {"key": key, "action": "add", "service": service,
             "quantity": 100, "link": f"https://instagram.com/profile_{os.getpid()}_{n}"},
        )  # fmt: skip
        if b'"order"' not in response.content:
            sys.exit(f"unexpected answer: {response.content!r}")
        placed[key] = response.json()["order"]

    def status() -> None:
        key = keys[next(counter) % len(keys)]
        response = client.post("/api/v2", {"key": key, "action": "status", "order": placed[key]})
        if b'"status"' not in response.content:
            sys.exit(f"unexpected answer: {response.content!r}")

    def status100() -> None:
        ids = ",".join(str(i) for i in mine[-100:])
        response = client.post("/api/v2", {"key": keys[0], "action": "status", "orders": ids})
        if response.content.count(b'"status"') != 100:
            sys.exit(f"unexpected answer: {response.content!r}")

    for _ in range(len(keys) + 20):  # warm-up: connections, every account's caches, imports
        add()
    mine = []
    if args.action == "status100":
        for _ in range(100):  # the first account's last 100 orders
            add(keys[0])
            mine.append(placed[keys[0]])
    call = {"add": add, "status": status, "status100": status100}[args.action]
    sql, rds = Timer(), Timer()

    def on_sql(execute, sql_text, params, many, context):
        return sql.timed(execute)(sql_text, params, many, context)

    connection_class = redis.connection.AbstractConnection
    send, read = connection_class.send_packed_command, connection_class.read_response
    connection_class.send_packed_command = rds.timed(send)
    connection_class.read_response = rds.timed(read)
    profiler = cProfile.Profile()
    with connection.execute_wrapper(on_sql):
        start = time.perf_counter()
        profiler.enable()
        for _ in range(args.adds):
            call()
        profiler.disable()
        total = time.perf_counter() - start
    connection_class.send_packed_command, connection_class.read_response = send, read
    per = 1000 / args.adds
    print(
        f"{args.adds} {args.action} calls in one process (cProfile on: Python's share is inflated)"
    )
    print(f"  per call: {total * per:6.2f} ms")
    print(f"  Postgres: {sql.seconds * per:6.2f} ms, {sql.calls / args.adds:.1f} statements")
    print(f"  Redis:    {rds.seconds * per:6.2f} ms, {rds.calls / args.adds / 2:.1f} commands")
    rest = total - sql.seconds - rds.seconds
    print(f"  Python:   {rest * per:6.2f} ms")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
    print(out.getvalue())
    start = time.perf_counter()
    for _ in range(args.adds):
        call()
    print(f"without cProfile: {(time.perf_counter() - start) * per:.2f} ms per {args.action}")


if __name__ == "__main__":
    main()
