import os

import pytest
from django.core.cache import cache

from tests.factories import UserFactory

# Playwright's sync API runs an event loop; Django's async-safety check would refuse
# ORM calls made from the test body while a page is open.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in the cache; every test starts from zero."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def customer(db):
    return UserFactory()
