"""R-PRV-3: the data archive is built by a real Celery worker on Redis, noting its progress."""

import zipfile
from io import BytesIO

import pytest

from legal.models import DataExport
from legal.privacy import data_export_request
from tests.orders.celery_worker import wait_for
from tests.orders.factories import funded_customer

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("celery_worker")
def test_the_worker_builds_the_archive():  # R-PRV-3
    customer = funded_customer(deposited="5")
    export = data_export_request(user=customer)
    assert export.progress == "Waiting for a worker."
    assert data_export_request(user=customer).pk == export.pk  # one at a time

    def ready():
        row = DataExport.objects.get(pk=export.pk)
        return row if row.status == DataExport.Status.READY else None

    built = wait_for(ready, timeout=60, what="the data export")
    assert built.progress == "Ready to download."
    names = zipfile.ZipFile(BytesIO(bytes(built.archive))).namelist()
    assert "balance_history.json" in names
    assert built.size == len(bytes(built.archive))
