"""Issue 9, item 7: the development server keeps no idle Postgres connections, and the
suite's concurrency tests stay within Postgres's 100 connections under ``-n 2``."""

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from tests.limits import MAX_DB_CONNECTIONS_PER_TEST, POSTGRES_MAX_CONNECTIONS, XDIST_WORKERS

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def test_the_dev_server_closes_its_connections_after_a_burst():
    db = connection.settings_dict
    name = f"smm-devserver-{os.getpid()}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smmpanel.settings_test",
        "DATABASE_URL": f"{url}?application_name={name}",
        "CONN_MAX_AGE": "60",  # what production uses: the dev server must ignore it
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload",
         "--skip-checks"],
        cwd=Path(settings.BASE_DIR), env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("the development server did not start")
                time.sleep(0.2)
        statuses: list[int] = []
        barrier = threading.Barrier(15)

        def hit():
            barrier.wait(timeout=30)
            statuses.append(requests.get(f"{base}/healthz", timeout=30).status_code)

        threads = [threading.Thread(target=hit) for _ in range(15)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert len(statuses) == 15
        deadline = time.monotonic() + 5
        while _connections(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _connections(name) == 0  # each request closed its connection
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_concurrency_tests_fit_in_postgres_with_two_workers():
    from tests.orders.test_concurrency import CONNECTIONS

    assert CONNECTIONS <= MAX_DB_CONNECTIONS_PER_TEST
    # Per xdist worker: one test's threads, its own connection, a live server's few, and
    # the Celery worker (4 threads + beat). Twice that leaves room for another app.
    per_worker = MAX_DB_CONNECTIONS_PER_TEST + 1 + 5 + 6
    assert XDIST_WORKERS * per_worker <= POSTGRES_MAX_CONNECTIONS * 2 // 3
