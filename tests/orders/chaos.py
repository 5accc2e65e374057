"""Parts for the chaos tests (issue 9, item 9): a Redis server of the test's own on a spare
port (never the machine's shared Redis) and Celery workers on it that the test kills.

The workers are the same command and fast clocks as ``tests/orders/celery_worker.py``, with
lost relay messages picked up after 2 s, so a test can kill them with SIGKILL and restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection

from smmpanel.celery import app as celery_app
from tests.orders.celery_worker import START_TIMEOUT, WORKER_ENV, _database_url

CHAOS_ENV = {**WORKER_ENV, "ORDERS_RELAY_LOST_AFTER_SECONDS": "2"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OwnRedis:
    """``redis-server`` on a spare port, nothing saved: a restart loses every message."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # SIGKILL: no goodbye to clients
            self.process.wait(timeout=10)


class ChaosWorkers:
    """Celery workers (with their embedded beat) on ``broker``, on the test database."""

    def __init__(self, *, broker: OwnRedis, workdir: Path):
        self.broker = broker
        self.workdir = workdir
        self.queue = f"chaos-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.current: subprocess.Popen | None = None
        self.starts = 0
        self.exits = 0  # exits on their own, each followed by a restart (``supervise``)

    def start(self) -> subprocess.Popen:
        self.starts += 1
        run_dir = self.workdir / f"worker{self.starts}"
        run_dir.mkdir()
        log_path = run_dir / "worker.log"
        env = {
            **os.environ,
            **CHAOS_ENV,
            "DJANGO_SETTINGS_MODULE": "smmpanel.settings",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "CELERY_BROKER_URL": self.broker.url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
        }
        command = [
            sys.executable, "-m", "celery", "-A", "smmpanel", "worker",
            "-B", "--scheduler", "celery.beat:PersistentScheduler", "-s", str(run_dir / "beat"),
            "-Q", self.queue, "-n", f"{self.queue}-{self.starts}@%h", "--pool", "threads",
            "--concurrency", "4", "--without-gossip", "--without-mingle",
            "--without-heartbeat", "--loglevel", "INFO",
        ]  # fmt: skip
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + START_TIMEOUT
        while " ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        self.current = process
        return process

    def supervise(self) -> None:
        """What the process manager does (docker-compose.yml: ``restart: unless-stopped``):
        start the worker again if it exited. Celery's worker can exit on a lost broker
        ("Unrecoverable error" while kombu restores unacknowledged messages)."""
        if self.current is not None and self.current.poll() is not None:
            self.exits += 1
            self.current = None
            self.start()

    def kill(self) -> None:
        """SIGKILL the worker and everything it started: nothing is finished or acked."""
        if self.current is not None and self.current.poll() is None:
            os.killpg(self.current.pid, signal.SIGKILL)
            self.current.wait(timeout=10)
        self.current = None


@pytest.fixture
def chaos(tmp_path, django_db_blocker):
    """Our own Redis as broker, the test's tasks published to it, workers to kill."""
    broker = OwnRedis(tmp_path).start()
    workers = ChaosWorkers(broker=broker, workdir=tmp_path)
    conf = celery_app.conf
    saved = conf.broker_url, conf.task_always_eager, conf.task_default_queue

    def reset_pools():
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.broker_url, conf.task_always_eager = broker.url, False
    conf.task_default_queue = workers.queue
    reset_pools()
    try:
        yield broker, workers
    finally:
        workers.kill()
        broker.kill()
        for log in sorted(tmp_path.glob("worker*/worker.log")):  # shown when the test fails
            print(f"--- {log.parent.name} ---\n{log.read_text()[-6000:]}")  # noqa: T201
        conf.broker_url, conf.task_always_eager, conf.task_default_queue = saved
        reset_pools()
