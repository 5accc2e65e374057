import pytest

from accounts.services import api_key_issue
from tests.factories import UserFactory


@pytest.fixture
def api_user(db):
    return UserFactory()


@pytest.fixture
def api_key(api_user):
    return api_key_issue(user=api_user)[1]


@pytest.fixture
def call(client):
    """POST form fields to /api/v2 and return (status, json)."""

    def _call(_transport="form", **fields):
        if _transport == "form":
            response = client.post("/api/v2", fields)
        elif _transport == "json":
            response = client.post("/api/v2", fields, content_type="application/json")
        else:
            response = client.get("/api/v2", fields)
        return response.status_code, response.json()

    return _call


# The real Celery worker and the provider simulator of the orders and catalog tests.
from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: E402, F401
from tests.orders.celery_worker import celery_worker, celery_worker_process  # noqa: E402, F401
