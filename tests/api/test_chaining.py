"""The panel as its own provider: a reseller's panel chained onto ours through API v2.

Provider "self" points at this panel's own /api/v2 (a live server) with a second account's
key. A customer's order on a service mapped to "self" becomes an order of that second
account, which the panel relays to the simulator. A real Celery worker on Redis does the
relaying and polling for both; both orders complete and the ledger checks.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.services import api_key_issue
from billing.selectors import balance_get
from catalog.services import provider_create
from orders.models import Order
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.catalog.fixtures import SIMULATOR_KEY
from tests.orders.celery_worker import wait_for
from tests.orders.factories import funded_customer, place

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
D = Decimal
SIMULATOR_SERVICE = "102"  # the simulator's followers at 0.45 per 1,000


@pytest.fixture(autouse=True)
def _roomy_limits(settings):
    # The worker polls the live server several times a second.
    settings.API_RATE_LIMIT_PER_ACCOUNT = "100000/m"
    settings.API_RATE_LIMIT_PER_IP = "100000/m"
    settings.ORDERS_LINK_CHECK = False


@pytest.mark.usefixtures("celery_worker")
def test_an_order_chains_through_our_own_api_to_the_simulator(live_server, simulator):
    simulator.step_seconds = 0.3
    # Upstream: the service the reseller account buys, relayed to the simulator.
    upstream = ServiceFactory(rate=D("0.80"), min_quantity=100, max_quantity=20000)
    sim = provider_create(name="Simulator", api_url=simulator.url, api_key=SIMULATOR_KEY)
    ProviderServiceFactory(
        service=upstream, provider=sim, remote_service_id=SIMULATOR_SERVICE,
        provider_rate=D("0.45"),
    )  # fmt: skip
    reseller = funded_customer(deposited="10")
    _, reseller_key = api_key_issue(user=reseller)
    # Downstream: "self" is this panel's API, used with the reseller's key.
    self_provider = provider_create(
        name="self", api_url=f"{live_server.url}/api/v2", api_key=reseller_key
    )
    resold = ServiceFactory(rate=D("1.20"), min_quantity=100, max_quantity=20000)
    ProviderServiceFactory(
        service=resold, provider=self_provider, remote_service_id=str(upstream.pk),
        provider_rate=D("0.80"),
    )  # fmt: skip
    customer = funded_customer(deposited="5")

    order = place(customer, resold, quantity=1000)

    order = wait_for(
        lambda: (o := Order.objects.get(pk=order.pk)).is_final and o,
        timeout=45,
        what="the customer's order to end",
    )
    inner = Order.objects.get(user=reseller)
    assert order.status == inner.status == Order.Status.COMPLETED
    assert order.provider == self_provider
    assert order.provider_order_id == inner.pk
    assert inner.provider == sim
    assert (inner.service, inner.link, inner.quantity) == (upstream, order.link, 1000)
    assert inner.source == Order.Source.API
    assert order.start_count == inner.start_count
    assert simulator.adds_received == 1
    # Each account paid its own panel's price: 1.20 and 0.80 for 1,000.
    assert balance_get(user=customer).deposited == D("3.80")
    assert balance_get(user=reseller).deposited == D("9.20")
    call_command("ledger_check")
