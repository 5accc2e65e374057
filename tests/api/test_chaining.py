"""The panel as its own provider: a reseller's panel chained onto ours through API v2.

Provider "self" points at this panel's own /api/v2 (a live server) with a second account's
key. A customer's order on a service mapped to "self" becomes an order of that second
account, which the panel relays to the simulator. A real Celery worker on Redis does the
relaying and polling for both; both orders complete and the ledger checks.

Issue 16: it also runs in each dialect of ``devtools/dialects.py``: the simulator speaks it,
and a ``DialectProxy`` between the two copies rewrites the provider copy's answers into it,
as if the reseller's provider were another panel script.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.services import api_key_issue
from billing.selectors import balance_get
from catalog.services import provider_create
from devtools.dialects import DIALECTS, DialectProxy
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


@pytest.fixture(params=sorted(DIALECTS))
def dialect(request, simulator):
    simulator.dialect = DIALECTS[request.param]
    return request.param


@pytest.fixture
def proxy(live_server, dialect):
    """Our own API, straight (standard: None) or through a proxy speaking the dialect."""
    if dialect == "standard":
        yield None
        return
    with DialectProxy(upstream=f"{live_server.url}/api/v2", dialect=dialect) as running:
        yield running


@pytest.fixture
def provider_url(live_server, proxy):
    return proxy.url if proxy else f"{live_server.url}/api/v2"


@pytest.mark.usefixtures("celery_worker")
def test_an_order_chains_through_our_own_api_to_the_simulator(provider_url, proxy, simulator):
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
    self_provider = provider_create(name="self", api_url=provider_url, api_key=reseller_key)
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
    if proxy is not None:
        assert {"add", "status"} <= set(proxy.calls)  # the dialect sat between the copies
    call_command("ledger_check")


@pytest.mark.usefixtures("celery_worker")
def test_partial_and_canceled_chain_with_their_returns(provider_url, proxy, simulator):
    # R-ORD-7, R-ORD-8 through both copies: the simulator ends the inner orders Partial (a
    # quarter undelivered) and Canceled; each panel returns its own customer's share.
    simulator.step_seconds = 0.3
    upstream = ServiceFactory(rate=D("0.80"), min_quantity=100, max_quantity=20000)
    sim = provider_create(name="Simulator", api_url=simulator.url, api_key=SIMULATOR_KEY)
    ProviderServiceFactory(
        service=upstream, provider=sim, remote_service_id=SIMULATOR_SERVICE,
        provider_rate=D("0.45"),
    )  # fmt: skip
    reseller = funded_customer(deposited="10")
    _, reseller_key = api_key_issue(user=reseller)
    self_provider = provider_create(name="self", api_url=provider_url, api_key=reseller_key)
    resold = ServiceFactory(rate=D("1.20"), min_quantity=100, max_quantity=20000)
    ProviderServiceFactory(
        service=resold, provider=self_provider, remote_service_id=str(upstream.pk),
        provider_rate=D("0.80"),
    )  # fmt: skip
    customer = funded_customer(deposited="5")

    partial = place(customer, resold, link="https://www.instagram.com/partial/", quantity=1000)
    canceled = place(customer, resold, link="https://www.instagram.com/cancel/", quantity=1000)

    partial, canceled = (
        wait_for(
            lambda o=o: (f := Order.objects.get(pk=o.pk)).is_final and f,
            timeout=45,
            what=f"{o.link} to end",
        )
        for o in (partial, canceled)
    )
    assert (partial.status, partial.remains, partial.refunded) == ("partial", 250, D("0.30"))
    assert (canceled.status, canceled.refunded) == ("canceled", D("1.20"))
    inner = {o.link: o for o in Order.objects.filter(user=reseller)}
    assert inner[partial.link].status == "partial"
    assert inner[partial.link].refunded == D("0.20")
    assert inner[canceled.link].status == "canceled"
    assert balance_get(user=customer).deposited == D("5") - D("2.40") + D("0.30") + D("1.20")
    assert balance_get(user=reseller).deposited == D("10") - D("1.60") + D("0.20") + D("0.80")
    if proxy is not None:
        assert {"add", "status"} <= set(proxy.calls)  # the dialect sat between the copies
    call_command("ledger_check")
