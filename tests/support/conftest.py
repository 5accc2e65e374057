import os

import pytest


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    """Screenshots go to a private folder of this test (never var/ or media)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "support_private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": "/no-public-url/"},
        },
    }
    return tmp_path / "private"


from tests.orders.celery_worker import celery_worker, celery_worker_process  # noqa: E402, F401


@pytest.fixture(scope="session")
def worker_id():
    """xdist's worker id, also when the suite runs without xdist (``-p no:xdist``)."""
    return os.environ.get("PYTEST_XDIST_WORKER", "master")
