from decimal import Decimal

import pytest

from catalog.services import provider_create
from devtools.simulator import ProviderSimulator
from tests.billing.conftest import assert_ledger_ok  # noqa: F401
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.catalog.fixtures import (  # noqa: F401
    FAST_STEP_SECONDS,
    SIMULATOR_KEY,
    provider_simulator,
    sim_provider,
    simulator,
)
from tests.orders.celery_worker import celery_worker, celery_worker_process  # noqa: F401


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    """Links of the tests point at the real internet: only the link-check tests fetch them."""
    settings.ORDERS_LINK_CHECK = False


@pytest.fixture(scope="session")
def second_provider_simulator():
    """Another provider on its own port: failover needs two that fail differently."""
    other = ProviderSimulator(api_key=SIMULATOR_KEY, step_seconds=FAST_STEP_SECONDS).start()
    yield other
    other.stop()


@pytest.fixture
def simulator_b(second_provider_simulator):
    second_provider_simulator.reset()
    second_provider_simulator.step_seconds = FAST_STEP_SECONDS
    yield second_provider_simulator
    second_provider_simulator.reset()


@pytest.fixture
def sim_provider_b(db, simulator_b):
    return provider_create(name="Simulator B", api_url=simulator_b.url, api_key=SIMULATOR_KEY)


# The simulator's "Instagram Followers [Cheap, No refill]": 0.45 per 1,000, 100..20000, cancel.
REMOTE_ID = "102"


@pytest.fixture
def routed_service(sim_provider):  # noqa: F811 - the fixture imported above
    """A service sold at 1.20 per 1,000, relayed to the simulator's service 102."""
    service = ServiceFactory(
        rate=Decimal("1.20"), min_quantity=100, max_quantity=20000, cancel=True
    )
    ProviderServiceFactory(
        service=service, provider=sim_provider, remote_service_id=REMOTE_ID, priority=1,
        provider_rate=Decimal("0.45"),
    )  # fmt: skip
    return service


@pytest.fixture
def staff_client(client, db):
    """A signed-in staff member with TOTP set up, so the admin opens (R-ACC-7)."""
    from allauth.mfa.models import Authenticator

    from tests.factories import StaffFactory

    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    client.staff = staff
    return client
