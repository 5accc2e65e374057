"""Scale-out: the suite's concurrency scenarios pass through PgBouncer in transaction pooling.

Several web and worker processes on different hosts share Postgres through PgBouncer
(docker-compose.yml's ``pgbouncer``). This starts a real ``pgbouncer`` in front of the test
database on a spare port, with fewer server connections than the scenarios' threads, points
every Django connection at it and runs the existing scenarios of
``tests/orders/test_concurrency.py`` and ``tests/billing/test_concurrency.py`` unchanged
(double spend, overlapping orders, idempotency, two pollers): the row locks, conditional
updates and unique constraints they rely on are all per transaction, and Django's client-side
parameter binding sends no server-side prepared statement (README: Scale-out).
"""

import inspect
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections

from tests.billing import test_concurrency as billing_concurrency
from tests.orders import test_concurrency as orders_concurrency

pytestmark = [pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]
PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(path)), None
)
# Fewer server connections than the scenarios' threads: clients queue in PgBouncer and
# each transaction may run on any server connection, as in production.
POOL_SIZE = 8
SCENARIOS = [
    function
    for module in (orders_concurrency, billing_concurrency)
    for name, function in vars(module).items()
    if name.startswith("test_") and inspect.isfunction(function)
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PgBouncer:
    """One pgbouncer process in front of the test database (transaction pooling)."""

    def __init__(self, settings_dict: dict):
        self.database = settings_dict["NAME"]
        self.server = (settings_dict.get("HOST") or "127.0.0.1", settings_dict.get("PORT") or 5432)
        self.user = settings_dict.get("USER") or "postgres"
        self.port = _free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> "PgBouncer":
        host, port = self.server
        (self.folder / "users.txt").write_text(f'"{self.user}" ""\n')
        (self.folder / "pgbouncer.ini").write_text(
            f"[databases]\n"
            f"{self.database} = host={host} port={port} dbname={self.database}\n"
            f"[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.folder / 'users.txt'}\n"
            f"admin_users = {self.user}\n"
            f"pool_mode = transaction\ndefault_pool_size = {POOL_SIZE}\nmax_client_conn = 200\n"
            # The test settings' `options` (the ledger's TRUNCATE switch, used by the flush
            # after each test, which goes to Postgres directly) is not passed through.
            f"ignore_startup_parameters = extra_float_digits, options\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
        )
        self.folder.chmod(0o777)  # pgbouncer refuses to run as root: it drops to postgres
        as_user = ["-u", "postgres"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [PGBOUNCER, *as_user, str(self.folder / "pgbouncer.ini")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                psycopg.connect(**self.connect_args(), connect_timeout=2).close()
                return self
            except psycopg.OperationalError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"pgbouncer did not start: {self.log()}")

    def connect_args(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "user": self.user, "dbname": self.database}

    def transactions(self) -> int:
        """Transactions PgBouncer has passed to the test database (its admin console)."""
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "pgbouncer",
             "-tA", "-F", "|", "-c", "SHOW STATS"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        for line in out.splitlines():
            fields = line.split("|")
            if fields[0] == self.database:
                return int(fields[1])  # total_xact_count
        return 0

    def log(self) -> str:
        path = self.folder / "pgbouncer.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def pgbouncer(transactional_db):
    """Every Django connection of this test (each thread's too) goes through PgBouncer."""
    if PGBOUNCER is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install -y pgbouncer)")
    settings_dict = connections.settings["default"]
    bouncer = PgBouncer(settings_dict).start()
    pooled = {"HOST": "127.0.0.1", "PORT": str(bouncer.port), "DISABLE_SERVER_SIDE_CURSORS": True}
    before = {key: settings_dict.get(key) for key in pooled}
    dicts = {id(d): d for d in (settings_dict, connection.settings_dict)}.values()
    for each in dicts:
        each.update(pooled)  # as production's DATABASE_POOLED=1
    connection.close()
    try:
        yield bouncer
    finally:
        connection.close()
        for each in dicts:
            each.update(before)
        bouncer.stop()


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda function: function.__name__[5:])
def test_concurrency_scenario_through_pgbouncer(scenario, pgbouncer, request):
    # R-BAL-5, R-ORD-12, R-ORD-7: the scenarios' own assertions, unchanged.
    assert connection.settings_dict["PORT"] == str(pgbouncer.port)
    before = pgbouncer.transactions()
    names = inspect.signature(scenario).parameters
    scenario(**{name: request.getfixturevalue(name) for name in names})
    assert pgbouncer.transactions() > before + 20  # the scenario's threads went through it
