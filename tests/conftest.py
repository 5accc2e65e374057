import os
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from tests.factories import UserFactory

# Playwright's sync API runs an event loop; Django's async-safety check would refuse
# ORM calls made from the test body while a page is open.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
_SESSION_STARTED = time.time()


def pytest_terminal_summary(terminalreporter) -> None:
    """Say where the browser tests' screenshots are (CI keeps the workspace, not artifacts)."""
    shots = [
        path for path in SCREENSHOTS.glob("*/*.png") if path.stat().st_mtime >= _SESSION_STARTED
    ]
    if shots:
        terminalreporter.write_line(
            f"browser screenshots: {len(shots)} in {SCREENSHOTS}/{{desktop,phone}}/"
        )


def _clear_own_cache_keys() -> None:
    """Delete this test process's cache keys only (other xdist workers share the Redis db)."""
    client = cache._cache.get_client(write=True)
    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts from zero."""
    _clear_own_cache_keys()
    yield
    _clear_own_cache_keys()


@pytest.fixture
def customer(db):
    return UserFactory()


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (no downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    """A fresh browser context on the live server; fails the test on any CSP violation."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    violations: list[str] = []
    pg.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield pg
    context.close()
    assert not violations, f"CSP violations: {violations}"


@pytest.fixture
def terms(django_db_blocker):
    """The current Terms of Service, published again if a transactional test's flush removed
    the version that the legal migration seeds (R-ACC-1 needs one to accept)."""
    from legal.models import Document
    from legal.selectors import document_current
    from legal.services import document_publish

    with django_db_blocker.unblock():
        current = document_current(kind=Document.Kind.TERMS)
        if current is None:
            current = document_publish(
                kind=Document.Kind.TERMS, title="Terms of Service", body="The terms."
            )
    return current
