import copy
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.core.management import call_command

from billing.selectors import ledger_verify

WEBHOOK_SECRET = "whsec_test_panel"
_DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _ledger_checked_after_each_test(request):
    """Every money scenario here ends with a balanced ledger (R-BAL-3): after each test that
    uses the database, ``ledger_verify`` finds no problem. Tests that break the ledger on
    purpose (to prove the check finds it) are marked ``ledger_broken``."""
    uses_db = request.node.get_closest_marker("django_db") or _DB_FIXTURES & set(
        request.fixturenames
    )
    if not uses_db or request.node.get_closest_marker("ledger_broken"):
        yield
        return
    request.getfixturevalue("_django_db_helper")  # torn down after this check
    yield
    assert ledger_verify().problems == []


@pytest.fixture
def assert_ledger_ok():
    """Call to prove the ledger: the command exits 0 and the report has no problems."""

    def check():
        report = ledger_verify()
        assert report.problems == []
        call_command("ledger_check")  # raises CommandError (exit 1) otherwise

    return check


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory):
    """A real localstripe server on a free port, once per session (per xdist worker)."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("localstripe_server.py")), str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/js.stripe.com/v3/", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"localstripe did not start; see {log.name}")
        time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture
def stripe_settings(settings, localstripe):
    """Point the panel at localstripe (API, Stripe.js mock) and let the CSP allow it."""
    settings.STRIPE_SECRET_KEY = "sk_test_panel"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_panel"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    for directive in ("script-src", "connect-src", "frame-src"):
        policy["DIRECTIVES"][directive].append(localstripe)
    settings.CONTENT_SECURITY_POLICY = policy
    return settings
