"""A real Celery worker (with its embedded beat) on Redis, for the end-to-end tests.

Started once per test session (per xdist worker) as a subprocess on the *test* database,
consuming its own queue (``orders-test-<xdist worker>-<pid>``), so parallel test workers
never take each other's tasks; stopped at the end. Tests using it are marked ``worker``
and ``django_db(transaction=True)`` (the worker only sees committed rows).
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from smmpanel.celery import app as celery_app

# Fast clocks for the worker: beat every 0.3 s, short backoffs, a 3 s provider timeout.
WORKER_ENV = {
    "ORDERS_POLL_SECONDS": "0.3",
    "ORDERS_RELAY_DUE_SECONDS": "0.3",
    "ORDERS_DUE_SECONDS": "0.3",
    "ORDERS_REFILL_POLL_SECONDS": "0.3",
    "ORDERS_SUBSCRIPTION_CYCLE_MINUTES": "0.01",
    "ORDERS_RELAY_BACKOFF_SECONDS": "0.2",
    "ORDERS_RELAY_BACKOFF_MAX_SECONDS": "0.5",
    "ORDERS_RELAY_RETRIES": "3",
    "ORDERS_RELAY_GRACE_SECONDS": "2",
    "ORDERS_LINK_CHECK": "0",
    "PROVIDER_TIMEOUT": "3.0",
    "PROVIDER_CONNECT_TIMEOUT": "1.0",
    "CONN_MAX_AGE": "0",
    "CELERY_TASK_ALWAYS_EAGER": "0",
    "DEBUG": "0",
    "LOG_LEVEL": "WARNING",
    "SUPPORT_CLAIM_CLOSE_SECONDS": "0.3",  # support (issue 11): the claim-window beat
    "EMAIL_URL": "consolemail://",  # notices mailed by the worker go to its log
}
START_TIMEOUT = 60


def _database_url(db: dict) -> str:
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, worker_id):
    from django.db import connection

    with django_db_blocker.unblock():
        database_url = _database_url(connection.settings_dict)
    queue = f"orders-test-{worker_id}-{os.getpid()}"
    workdir: Path = tmp_path_factory.mktemp("celery")
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        **WORKER_ENV,
        "DJANGO_SETTINGS_MODULE": "smmpanel.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
    }
    command = [
        sys.executable, "-m", "celery", "-A", "smmpanel", "worker",
        "-B", "--scheduler", "celery.beat:PersistentScheduler", "-s", str(workdir / "beat"),
        "-Q", queue, "-n", f"{queue}@%h", "--pool", "threads", "--concurrency", "4",
        "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO",
    ]  # fmt: skip
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while " ready." not in log_path.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        process.queue = queue
        process.nodename = f"{queue}@{socket.gethostname()}"
        process.log_path = log_path
        _consuming(process, on=False)  # until a test asks for it (``celery_worker``)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        with celery_app.connection_for_write() as broker:
            # The queue (with its priority lists) and its direct exchange's bindings.
            client = broker.default_channel.client
            for pattern in (f"{queue}*", f"_kombu.binding*.{queue}"):
                for key in client.scan_iter(match=pattern):
                    client.delete(key)


logger = logging.getLogger(__name__)
CONTROL_TIMEOUT = 15.0  # seconds for the worker to confirm, on a loaded machine


def _consuming(process, *, on: bool) -> None:
    """Let the worker take tasks from its queue, or stop it doing so.

    The worker lives for the whole session, and its embedded beat keeps sending the periodic
    tasks (relay, poll, claim windows...) to its queue. Between the tests that use it the
    worker does not consume, so it never acts on another test's rows (two pollers racing in
    a concurrency test, say); what its beat sent meanwhile is purged when it resumes.
    Resuming must be confirmed (the test needs the worker); pausing is best effort: an
    unanswered pause is logged, and the command still reaches the worker when it gets to it.
    """
    control = celery_app.control
    destination = [process.nodename]
    for _ in range(3 if on else 1):
        if on:
            with celery_app.connection_for_write() as broker:
                broker.default_channel.queue_purge(process.queue)
            replies = control.add_consumer(
                process.queue, destination=destination, reply=True, timeout=CONTROL_TIMEOUT
            )
        else:
            replies = control.cancel_consumer(
                process.queue, destination=destination, reply=True, timeout=CONTROL_TIMEOUT
            )
        if replies:
            return
    if on:
        raise RuntimeError(f"the Celery worker {process.nodename} did not answer")
    logger.warning("the Celery worker %s did not confirm the pause", process.nodename)


IDLE_TIMEOUT = 30.0  # seconds for the tasks a paused worker already holds to finish


def _wait_idle(process) -> None:
    """Wait until the paused worker runs no task and holds none in reserve.

    A task still running after the test (a beat-sent relay or subscription cycle) holds row
    locks in its own transaction; the test database's flush (TRUNCATE of every table) then
    deadlocks with it, and the rows it could not remove break the next test.
    """
    inspect = celery_app.control.inspect(destination=[process.nodename], timeout=2.0)
    deadline = time.monotonic() + IDLE_TIMEOUT
    while time.monotonic() < deadline:
        active, reserved = inspect.active() or {}, inspect.reserved() or {}
        if active and not any(active.values()) and not any(reserved.values()):
            return
        time.sleep(0.1)
    logger.warning("the Celery worker %s was still busy after the test", process.nodename)


@pytest.fixture
def celery_worker(celery_worker_process):
    """Tasks of this test go through Redis to the worker (the unit tests run them inline)."""
    conf = celery_app.conf
    saved = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager = False
    conf.task_default_queue = celery_worker_process.queue
    _consuming(celery_worker_process, on=True)
    try:
        yield celery_worker_process
    finally:
        conf.task_always_eager, conf.task_default_queue = saved
        _consuming(celery_worker_process, on=False)
        _wait_idle(celery_worker_process)


def _orders_now() -> str:
    from orders.models import Order

    rows = Order.objects.order_by("pk").values_list(
        "pk", "link", "status", "relay_state", "provider_order_id", "poll_due_at", "relay_error"
    )
    return "\n".join(str(row) for row in rows)


def wait_for(condition, *, timeout: float = 30.0, interval: float = 0.1, what: str = ""):
    """Poll ``condition`` until it returns something true; fail the test after ``timeout``
    with the orders' state, to see where they stopped."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}; orders:\n{_orders_now()}")
        time.sleep(interval)
