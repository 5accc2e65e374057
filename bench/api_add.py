"""Benchmark: the API's `add` against Postgres's own limit for the same transaction.

    .venv/bin/python bench/api_add.py [--seconds 20] [--concurrency 16] [--accounts 200]

Starts the panel under gunicorn with production settings on a fresh Postgres database,
funds many accounts, drives `add` with wrk at a fixed concurrency for a fixed time, then
runs pgbench with a script of the exact SQL transaction that one `add` commits (captured
from the ORM) at the same concurrency, and prints both rates and their ratio. Also the
hot-wallet variant (every add on one account) and `status` of 100 ids (p50/p95).
The goal: an `add` rate at least half of pgbench's.
"""

import argparse
import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DB = "smm_bench"
PORT = 8199
GOAL = 0.5
FIRST_100_ORDERS_OF_BENCH0 = (
    "SELECT string_agg(o.id::text, ',') FROM (SELECT o.id FROM orders_order o "
    "JOIN accounts_user u ON u.id = o.user_id WHERE u.username = 'bench0' "
    "ORDER BY o.id LIMIT 100) o"
)


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def ensure_tools() -> None:
    run([str(ROOT / "scripts" / "ensure-services")], stdout=subprocess.DEVNULL)
    if shutil.which("wrk") is None:
        if os.geteuid() != 0:
            sys.exit("wrk is missing. Install it: apt-get install -y wrk")
        run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL)
    if shutil.which("pgbench") is None:
        sys.exit("pgbench is missing. Install it: apt-get install -y postgresql-contrib")


def production_env(bench_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="smmpanel.settings",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        REDIS_URL="redis://127.0.0.1:6379/11",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback; everything else as in production
        FIELD_ENCRYPTION_KEYS="XBPyimAUqR5lgsDvT1mUVuZ5jjq22hVPKso-YVBj2hs=",
        API_RATE_LIMIT_PER_ACCOUNT="100000000/s",
        API_RATE_LIMIT_PER_IP="100000000/s",
        BENCH_DIR=str(bench_dir),
    )
    return env


def prepare(env: dict[str, str], accounts: int) -> None:
    run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB])
    run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB])
    run(["redis-cli", "-n", "11", "flushdb"], stdout=subprocess.DEVNULL)
    run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env)
    run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env)
    seed = f"import runpy; runpy.run_path({str(ROOT / 'bench' / 'api_add_seed.py')!r})"
    run(
        [PYTHON, "manage.py", "shell", "-c", seed],
        cwd=ROOT,
        env={**env, "BENCH_ACCOUNTS": str(accounts)},
    )


def start_gunicorn(env: dict[str, str], workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [PYTHON, "-m", "gunicorn", "smmpanel.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            if conn.getresponse().status == 200:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not become healthy")


def wrk_add(bench_dir: Path, seconds: int, concurrency: int, *, hot: bool) -> tuple[float, str]:
    env = {
        **os.environ,
        "BENCH_KEYS": str(bench_dir / "keys.txt"),
        "BENCH_SERVICE": (bench_dir / "service.txt").read_text().strip(),
        "BENCH_HOT": "1" if hot else "0",
    }
    out = run(
        ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s",
         "-s", str(ROOT / "bench" / "api_add.lua"), f"http://127.0.0.1:{PORT}/api/v2"],
        env=env, capture_output=True,
    ).stdout  # fmt: skip
    match = re.search(r"BENCH requests=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p95_ms=([\d.]+)", out)
    requests, elapsed, p50, p95 = match.groups()
    return int(requests) / float(elapsed), f"p50 {p50} ms, p95 {p95} ms"


def orders_placed() -> int:
    out = run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-tAc",
         "SELECT count(*) FROM orders_order"], capture_output=True,
    ).stdout  # fmt: skip
    return int(out.strip())


def pgbench(bench_dir: Path, seconds: int, concurrency: int) -> float:
    result = subprocess.run(
        ["pgbench", "-h", "127.0.0.1", "-U", "postgres", "-n", "-c", str(concurrency),
         "-j", "2", "-T", str(seconds), "-f", str(bench_dir / "add.pgbench.sql"), DB],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"pgbench failed:\n{result.stdout}\n{result.stderr}")
    out = result.stdout
    failed = re.search(r"number of failed transactions: (\d+)", out)
    if failed and int(failed.group(1)):
        print(f"  pgbench: {failed.group(1)} failed transactions")
    return float(re.search(r"tps = ([\d.]+)", out).group(1))


def status_latency(bench_dir: Path, rounds: int = 200) -> tuple[float, float]:
    key = (bench_dir / "keys.txt").read_text().split()[0]
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    ids = run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", DB, "-tAc",
         FIRST_100_ORDERS_OF_BENCH0], capture_output=True,
    ).stdout.strip()  # fmt: skip
    body = urllib.parse.urlencode({"key": key, "action": "status", "orders": ids})
    headers = {"Host": "127.0.0.1", "Content-Type": "application/x-www-form-urlencoded"}
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        conn.request("POST", "/api/v2", body=body, headers=headers)
        conn.getresponse().read()
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    args = parser.parse_args()
    ensure_tools()
    bench_dir = ROOT / "var" / "bench"
    shutil.rmtree(bench_dir, ignore_errors=True)
    bench_dir.mkdir(parents=True)
    env = production_env(bench_dir)
    print(f"Preparing {DB}: migrate, {args.accounts} funded accounts, capture one add ...")
    prepare(env, args.accounts)
    server = start_gunicorn(env, args.workers)
    try:
        before = orders_placed()
        add_rate, add_latency = wrk_add(bench_dir, args.seconds, args.concurrency, hot=False)
        placed = orders_placed() - before
        hot_rate, hot_latency = wrk_add(bench_dir, args.seconds, args.concurrency, hot=True)
        status_p50, status_p95 = status_latency(bench_dir)
    finally:
        server.terminate()
        server.wait(timeout=30)
    pg_rate = pgbench(bench_dir, args.seconds, args.concurrency)
    ratio = add_rate / pg_rate if pg_rate else 0.0
    print(f"concurrency {args.concurrency}, {args.seconds} s each, gunicorn {args.workers} workers")
    print(f"API add:            {add_rate:8.1f} orders/s ({add_latency}; {placed} orders placed)")
    print(f"API add, hot wallet:{hot_rate:8.1f} orders/s ({hot_latency})")
    print(f"pgbench, same SQL:  {pg_rate:8.1f} transactions/s")
    verdict = "OK" if ratio >= GOAL else "BELOW GOAL"
    print(f"ratio add/pgbench:  {ratio:8.2f}  (goal: >= {GOAL})  {verdict}")
    print(f"status of 100 ids:  p50 {status_p50:.1f} ms, p95 {status_p95:.1f} ms")


if __name__ == "__main__":
    main()
