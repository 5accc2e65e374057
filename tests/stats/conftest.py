from tests.billing.conftest import assert_ledger_ok  # noqa: F401
from tests.catalog.fixtures import provider_simulator, sim_provider, simulator  # noqa: F401
from tests.orders.conftest import _no_link_check, routed_service  # noqa: F401
