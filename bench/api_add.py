"""Benchmark: the API's `add` and `status` against Postgres's own limit, in one run.

    .venv/bin/python bench/api_add.py [--seconds 20] [--concurrency 16] [--accounts 200]
                                      [--workers 2] [--worker-class gthread] [--threads 4]
    .venv/bin/python bench/api_add.py --matrix sync:2,sync:4,gthread:2x4   # worker models

Starts the panel under gunicorn with production settings on a fresh Postgres database of
its own (``<DATABASE_URL's name>_api_bench``; Redis keys under their own prefix), funds many
accounts, and prints:

- `add` with many accounts and with one hot wallet (wrk, fixed concurrency and time);
- pgbench running the exact SQL transaction one warm `add` commits (captured from the ORM),
  on many accounts and on one, at the same concurrency;
- pgbench running a FIXED reference transaction (api_add_reference.sql: lock the account
  row, debit it, insert the order, a ledger transaction with two entries and a history
  row), which does not change when our SQL does;
- the ratios add / same SQL and add / reference (goal >= 0.5);
- `status` of one order (req/s) and of 100 ids (p50/p95, one client) beside the p95 of the
  same call's raw SQL and of the bare HTTP round trip of a trivial Django view
  (goal: p95 <= 3 x raw SQL p95 + trivial view p95).

A figure below its goal is reported, never an error: the exit status is non-zero only
when the run could not be set up. ``--matrix`` instead prints `add` (many accounts) for
each gunicorn worker model, ``class:workers`` or ``gthread:WORKERSxTHREADS``.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PYTHON = sys.executable
GOAL = 0.5
STATUS_GOAL = 3
PG = ["-h", "127.0.0.1", "-U", "postgres"]


def _base_name() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smmpanel")
    return urllib.parse.urlsplit(url).path.lstrip("/") or "smmpanel"


# Names of this run's own: derived from the caller's isolation variables, so that
# engineers sharing the machine never share a bench database, Redis keys or a queue.
DB = f"{_base_name()}_api_bench"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
KEY_PREFIX = f"{os.environ.get('CACHE_KEY_PREFIX', 'smm')}_api_bench"
QUEUE = f"{KEY_PREFIX}_queue"
API_KEY_PEPPER = "bench-api-key-pepper"  # bench/api_add_profile.py reuses the keys


class SetupError(Exception):
    pass


def run(cmd, **kwargs):
    return subprocess.run(cmd, check=True, text=True, **kwargs)


def redis_cli(*args: str) -> str:
    parts = urllib.parse.urlsplit(REDIS_URL)
    db = parts.path.lstrip("/") or "0"
    cmd = ["redis-cli", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 6379)]
    return run([*cmd, "-n", db, *args], capture_output=True).stdout


def redis_clean() -> None:
    """Delete this bench's own keys (never the whole Redis database: others use it)."""
    keys = redis_cli("--scan", "--pattern", f"{KEY_PREFIX}*").split()
    for start in range(0, len(keys), 500):
        redis_cli("del", *keys[start : start + 500])


def ensure_tools() -> None:
    run([str(ROOT / "scripts" / "ensure-services")], stdout=subprocess.DEVNULL)
    for tool, package in (("wrk", "wrk"), ("pgbench", "postgresql-contrib")):
        if shutil.which(tool) is None:
            if os.geteuid() != 0:
                raise SetupError(f"{tool} is missing. Install it: apt-get install -y {package}")
            run(["apt-get", "install", "-y", "-q", package], stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(bench_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="bench_settings",  # production's, plus a trivial view
        PYTHONPATH=os.pathsep.join([str(BENCH), str(ROOT)]),
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(64),
        API_KEY_PEPPER=API_KEY_PEPPER,  # as production: keys outlive SECRET_KEY rotations
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        REDIS_URL=REDIS_URL,
        CACHE_KEY_PREFIX=KEY_PREFIX,
        CELERY_TASK_DEFAULT_QUEUE=QUEUE,  # the relay's messages: read by no worker, deleted
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",  # plain HTTP on loopback; everything else as in production
        FIELD_ENCRYPTION_KEYS="XBPyimAUqR5lgsDvT1mUVuZ5jjq22hVPKso-YVBj2hs=",
        API_RATE_LIMIT_PER_ACCOUNT="100000000/s",
        API_RATE_LIMIT_PER_IP="100000000/s",
        BENCH_DIR=str(bench_dir),
    )
    return env


def prepare(env: dict[str, str], accounts: int) -> None:
    quiet = {**os.environ, "PGOPTIONS": "-c client_min_messages=warning"}
    try:
        run(["dropdb", *PG, "--if-exists", DB], env=quiet)
        run(["createdb", *PG, DB])
        redis_clean()
        run([PYTHON, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env)
        run([PYTHON, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env)
        seed = f"import runpy; runpy.run_path({str(BENCH / 'api_add_seed.py')!r})"
        run([PYTHON, "manage.py", "shell", "-c", seed], cwd=ROOT,
            env={**env, "BENCH_ACCOUNTS": str(accounts)}, stdout=subprocess.DEVNULL)  # fmt: skip
        run(["psql", *PG, "-d", DB, "-q", "-v", "ON_ERROR_STOP=1", "-v", f"accounts={accounts}",
             "-f", str(BENCH / "api_add_reference_schema.sql")], env=quiet)  # fmt: skip
    except subprocess.CalledProcessError as exc:
        raise SetupError(f"preparing {DB} failed: {exc}") from exc


class Gunicorn:
    """The panel under gunicorn: ``model`` is ``(worker_class, workers, threads)``."""

    def __init__(self, env: dict[str, str], model: tuple[str, int, int]):
        self.env, self.model, self.port = env, model, free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Gunicorn":
        worker_class, workers, threads = self.model
        self.process = subprocess.Popen(
            [PYTHON, "-m", "gunicorn", "smmpanel.wsgi:application",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers),
             "--worker-class", worker_class, "--threads", str(threads),
             "--log-level", "warning"],
            cwd=ROOT, env=self.env,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise SetupError("gunicorn did not become healthy")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        worker_class, workers, threads = self.model
        return f"gunicorn {workers} {worker_class} workers" + (
            f" x {threads} threads" if worker_class == "gthread" else ""
        )


def wrk(url: str, script: str, seconds: int, concurrency: int, env: dict[str, str]):
    """(requests per second, 'p50 .. ms, p95 .. ms'), or None if wrk gave no figure."""
    result = subprocess.run(
        ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s",
         "-s", str(BENCH / script), f"{url}/api/v2"],
        env={**os.environ, **env}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    match = re.search(
        r"BENCH requests=(\d+) seconds=([\d.]+) p50_ms=([\d.]+) p95_ms=([\d.]+) failed=(\d+)",
        result.stdout,
    )
    if match is None:
        print(f"  wrk gave no figure:\n{result.stdout}\n{result.stderr}")
        return None
    requests, elapsed, p50, p95, failed = match.groups()
    latency = f"p50 {p50} ms, p95 {p95} ms"
    if int(failed):  # counted out of the rate: only right answers count
        latency += f"; {failed} wrong answers"
        print(f"  {script}: {failed} wrong answers, the first: {result.stderr.splitlines()[0]}")
    return (int(requests) - int(failed)) / float(elapsed), latency


def wrk_add(server: Gunicorn, bench_dir: Path, seconds: int, concurrency: int, *, hot: bool):
    env = {
        "BENCH_KEYS": str(bench_dir / "keys.txt"),
        "BENCH_SERVICE": (bench_dir / "service.txt").read_text().strip(),
        "BENCH_HOT": "1" if hot else "0",
        "BENCH_RUN": secrets.token_hex(4),
    }
    return wrk(server.url, "api_add.lua", seconds, concurrency, env)


def wrk_status(server: Gunicorn, bench_dir: Path, seconds: int, concurrency: int):
    env = {
        "BENCH_KEY": (bench_dir / "keys.txt").read_text().split()[0],
        "BENCH_IDS": (bench_dir / "status_ids.txt").read_text().strip(),
    }
    return wrk(server.url, "api_status.lua", seconds, concurrency, env)


def psql_value(sql: str) -> str:
    return run(["psql", *PG, "-d", DB, "-tAc", sql], capture_output=True).stdout.strip()


def orders_placed() -> int:
    return int(psql_value("SELECT count(*) FROM orders_order"))


def pgbench(script: Path, seconds: int, concurrency: int, defines=()) -> float | None:
    result = subprocess.run(
        ["pgbench", *PG, "-n", "-c", str(concurrency), "-j", "2", "-T", str(seconds),
         *[f"-D{d}" for d in defines], "-f", str(script), DB],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    tps = re.search(r"tps = ([\d.]+)", result.stdout)
    if result.returncode != 0 or tps is None:
        print(f"  pgbench {script.name} failed:\n{result.stdout}\n{result.stderr}")
        return None
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    if failed and int(failed.group(1)):
        print(f"  pgbench {script.name}: {failed.group(1)} failed transactions")
    return float(tps.group(1))


def hot_script(bench_dir: Path) -> Path:
    """The captured `add` on one account: the first one, as wrk's hot wallet."""
    text = (bench_dir / "add.pgbench.sql").read_text()
    hot = bench_dir / "add_hot.pgbench.sql"
    hot.write_text(re.sub(r"^\\set n random\(1, \d+\)$", r"\\set n 1", text, flags=re.M))
    return hot


def sequential_ms(server: Gunicorn, method: str, path: str, body: str | None, rounds: int):
    """p50 and p95 (ms) of one client's requests on one kept-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Host": "127.0.0.1", "Content-Type": "application/x-www-form-urlencoded"}
    timings = []
    for _ in range(rounds + 10):
        start = time.perf_counter()
        conn.request(method, path, body=body, headers=headers)
        conn.getresponse().read()
        timings.append((time.perf_counter() - start) * 1000)
    return percentiles(timings[10:])  # the first ones warm the worker up


def percentiles(timings: list[float]) -> tuple[float, float]:
    timings = sorted(timings)
    return statistics.median(timings), timings[max(0, int(len(timings) * 0.95) - 1)]


def status100_sql_ms(bench_dir: Path, rounds: int) -> tuple[float, float]:
    """p50 and p95 (ms) of the SQL one warm `status` of 100 ids sends, without Django."""
    import psycopg

    statements = json.loads((bench_dir / "status100.json").read_text())
    timings = []
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB}", autocommit=True) as conn:
        for _ in range(rounds + 10):
            start = time.perf_counter()
            for sql in statements:
                cursor = conn.execute(sql)
                if cursor.description:
                    cursor.fetchall()
            timings.append((time.perf_counter() - start) * 1000)
    return percentiles(timings[10:])


def ratio_text(rate: float | None, base: float | None) -> str:
    if not rate or not base:
        return "     n/a"
    ratio = rate / base
    return f"{ratio:8.2f}  (goal >= {GOAL}: {'OK' if ratio >= GOAL else 'BELOW GOAL'})"


def rate_text(figure, unit: str) -> str:
    return "     n/a" if figure is None else f"{figure[0]:8.1f} {unit} ({figure[1]})"


def tps_text(tps: float | None) -> str:
    return "     n/a" if tps is None else f"{tps:8.1f} transactions/s"


def parse_model(text: str) -> tuple[str, int, int]:
    worker_class, _, size = text.partition(":")
    workers, _, threads = size.partition("x")
    return worker_class, int(workers), int(threads or 1)


def matrix(env, bench_dir: Path, args) -> None:
    """`add` (many accounts) for each worker model, one after the other."""
    print(f"add, many accounts, {args.concurrency} connections, {args.seconds} s each:")
    for text in args.matrix.split(","):
        with Gunicorn(env, parse_model(text)) as server:
            wrk_add(server, bench_dir, 2, args.concurrency, hot=False)  # warm-up
            figure = wrk_add(server, bench_dir, args.seconds, args.concurrency, hot=False)
            print(f"  {server.describe():40} {rate_text(figure, 'orders/s')}", flush=True)


def full_run(env, bench_dir: Path, args) -> None:
    seconds, concurrency = args.seconds, args.concurrency
    model = (args.worker_class, args.workers, args.threads)
    with Gunicorn(env, model) as server:
        wrk_add(server, bench_dir, 2, concurrency, hot=False)  # warm-up
        before = orders_placed()
        add = wrk_add(server, bench_dir, seconds, concurrency, hot=False)
        placed = orders_placed() - before
        hot = wrk_add(server, bench_dir, seconds, concurrency, hot=True)
        single = wrk_status(server, bench_dir, seconds, concurrency)
        key = (bench_dir / "keys.txt").read_text().split()[0]
        ids = (bench_dir / "status_ids.txt").read_text().strip()
        body = urllib.parse.urlencode({"key": key, "action": "status", "orders": ids})
        status100 = sequential_ms(server, "POST", "/api/v2", body, args.rounds)
        ping = sequential_ms(server, "GET", "/bench/ping", None, args.rounds)
        described = server.describe()
    status_sql = status100_sql_ms(bench_dir, args.rounds)
    same = pgbench(bench_dir / "add.pgbench.sql", seconds, concurrency)
    same_hot = pgbench(hot_script(bench_dir), seconds, concurrency)
    reference_script = BENCH / "api_add_reference.sql"
    reference = pgbench(reference_script, seconds, concurrency, [f"accounts={args.accounts}"])
    reference_hot = pgbench(reference_script, seconds, concurrency, ["accounts=1"])
    add_rate = add[0] if add else None
    hot_rate = hot[0] if hot else None
    status_limit = STATUS_GOAL * status_sql[1] + ping[1]

    print(f"\n{DB}: concurrency {concurrency}, {seconds} s each, {described}, "
          f"{args.accounts} accounts, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f} at the end")  # fmt: skip
    print(f"API add, many accounts:      {rate_text(add, 'orders/s')}; {placed} orders placed")
    print(f"API add, hot wallet:         {rate_text(hot, 'orders/s')}")
    print(f"pgbench, same SQL:           {tps_text(same)}")
    print(f"pgbench, same SQL, hot:      {tps_text(same_hot)}")
    print(f"pgbench, reference:          {tps_text(reference)}")
    print(f"pgbench, reference, hot:     {tps_text(reference_hot)}")
    print(f"add / same SQL:              {ratio_text(add_rate, same)}")
    print(f"add / reference:             {ratio_text(add_rate, reference)}")
    print(f"hot add / same SQL, hot:     {ratio_text(hot_rate, same_hot)}")
    print(f"hot add / reference, hot:    {ratio_text(hot_rate, reference_hot)}")
    print(f"status, one order:           {rate_text(single, 'req/s')}  (goal >= 600 req/s)")
    verdict = "OK" if status100[1] <= status_limit else "ABOVE GOAL"
    print(f"status of 100 ids:           p50 {status100[0]:.1f} ms, p95 {status100[1]:.1f} ms "
          f"(goal p95 <= {STATUS_GOAL} x {status_sql[1]:.2f} + {ping[1]:.2f} = "
          f"{status_limit:.1f} ms: {verdict})")  # fmt: skip
    print(f"  its raw SQL (psycopg):     p50 {status_sql[0]:.2f} ms, p95 {status_sql[1]:.2f} ms")
    print(f"  trivial Django view:       p50 {ping[0]:.2f} ms, p95 {ping[1]:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--accounts", type=int, default=200)
    # The defaults are production's (Dockerfile, docker-compose.yml).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gthread", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--rounds", type=int, default=300, help="sequential status/ping calls")
    parser.add_argument("--matrix", default="", help="e.g. sync:2,sync:4,gthread:2x4")
    args = parser.parse_args()
    bench_dir = ROOT / "var" / f"bench_{DB}"
    try:
        ensure_tools()
        shutil.rmtree(bench_dir, ignore_errors=True)
        bench_dir.mkdir(parents=True)
        env = production_env(bench_dir)
        print(f"Preparing {DB}: migrate, {args.accounts} funded accounts, capture one add ...")
        prepare(env, args.accounts)
        if args.matrix:
            matrix(env, bench_dir, args)
        else:
            full_run(env, bench_dir, args)
    except SetupError as exc:
        print(f"setup failed: {exc}", file=sys.stderr)
        return 1
    finally:
        redis_clean()
    return 0


if __name__ == "__main__":
    sys.exit(main())
