# The provider simulator, a routed service and the ledger check of the orders tests.
from tests.billing.conftest import assert_ledger_ok  # noqa: F401
from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: F401
from tests.orders.celery_worker import celery_worker, celery_worker_process  # noqa: F401
from tests.orders.conftest import _no_link_check, routed_service  # noqa: F401
