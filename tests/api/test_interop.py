"""Issue 16: our API v2 answers as other panels rely on them.

* ``add`` takes a drip-feed ``interval=0`` (portions back to back), as other panels send it,
  and the relay passes it on to a provider in any dialect.
* A drip-feed that ends Partial answers ``runs``, ``orders`` and the whole order's ``remains``
  in ``status``, whatever dialect its provider speaks (polled and released for real).
* ``services`` (and the Services and New Order pages) list only the types the panel takes
  orders for: ``catalog.models.service_type_orderable`` is the one switch.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.selectors import ledger_verify
from catalog import models as catalog_models
from catalog.models import Service, service_type_orderable
from devtools.dialects import DIALECTS
from orders.models import Order
from orders.services.relay import dripfeed_release_due, orders_poll
from tests.billing.factories import fund
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.orders.factories import LINK, funded_customer

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    settings.ORDERS_LINK_CHECK = False


@pytest.fixture
def funded(api_user):
    fund(api_user, deposited="10")
    return api_user


@pytest.fixture
def drip():
    return ServiceFactory(dripfeed=True, rate=D("1.00"), min_quantity=50, max_quantity=10000)


# --- drip-feed interval=0 -----------------------------------------------------------------------
@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_add_accepts_a_drip_feed_interval_of_zero(call, api_key, funded, drip, transport):
    # R-ORD-10 with portions back to back; R-ORD-2: runs x quantity is charged.
    status, body = call(
        transport, key=api_key, action="add", service=drip.pk, link=LINK, quantity=100, runs=4,
        interval=0,
    )  # fmt: skip
    assert status == 200
    assert set(body) == {"order"}
    order = Order.objects.get(pk=body["order"])
    assert (order.quantity, order.charge) == (400, D("0.40"))
    assert (order.extra["runs"], order.extra["interval"]) == (4, 0)


@pytest.mark.parametrize("interval", ["-1", "x", "1.5"])
def test_a_negative_or_broken_interval_is_still_refused(call, api_key, funded, drip, interval):
    _, body = call(
        key=api_key, action="add", service=drip.pk, link=LINK, quantity=100, runs=4,
        interval=interval,
    )  # fmt: skip
    assert body == {"error": "Incorrect request"}
    assert not Order.objects.exists()


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_interval_zero_goes_on_to_the_provider_in_each_dialect(
    dialect,
    call,
    api_key,
    funded,
    drip,
    sim_provider,
    simulator,
    django_capture_on_commit_callbacks,
):
    simulator.dialect = DIALECTS[dialect]
    ProviderServiceFactory(
        service=drip, provider=sim_provider, remote_service_id="101", provider_rate=D("0.50")
    )
    with django_capture_on_commit_callbacks(execute=True):
        _, body = call(
            key=api_key, action="add", service=drip.pk, link=LINK, quantity=100, runs=4, interval=0
        )
    # The panel runs the portions itself (R-ORD-10): 0 minutes means back to back.
    order = Order.objects.get(pk=body["order"])
    assert (order.relay_state, order.quantity, order.extra["interval"]) == ("parent", 400, 0)
    first = order.portions.get(portion=1)
    assert first.relay_state == "placed"
    assert simulator.orders[first.provider_order_id].quantity == 100
    assert not {"runs", "interval"} & set(simulator.last_request["fields"])


# --- a drip-feed Partial answers runs, orders and remains ------------------------------------
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_drip_feed_partial_answers_runs_orders_and_remains_in_each_dialect(
    dialect,
    call,
    api_key,
    funded,
    drip,
    sim_provider,
    simulator,
    django_capture_on_commit_callbacks,
):
    # R-ORD-10, R-ORD-7; issue 16 item 5: 300 of 400 delivered is a Partial whose status says
    # so (runs, the portions' ids, remains 100), so a panel reselling it refunds only 100.
    simulator.dialect = DIALECTS[dialect]
    simulator.step_seconds = 600  # each portion stays Pending at the provider until forced
    ProviderServiceFactory(
        service=drip, provider=sim_provider, remote_service_id="101", provider_rate=D("0.50")
    )
    with django_capture_on_commit_callbacks(execute=True):
        _, body = call(
            key=api_key, action="add", service=drip.pk, link=LINK, quantity=100, runs=4, interval=0
        )
    parent = Order.objects.get(pk=body["order"])
    for number, (status, remains) in enumerate(
        [("Completed", 0), ("Completed", 0), ("Completed", 0), ("Partial", 100)], start=1
    ):
        portion = parent.portions.get(portion=number)
        assert portion.relay_state == "placed"
        simulator.force_status(portion.provider_order_id, status, remains)
        Order.objects.filter(pk=portion.pk).update(poll_due_at=timezone.now())
        assert orders_poll() == 1  # one multi-status answer, in the dialect, applied
        with django_capture_on_commit_callbacks(execute=True):
            assert dripfeed_release_due() == (1 if number < 4 else 0)  # the next, back to back
    portions = list(parent.portions.order_by("portion").values_list("pk", flat=True))
    assert simulator.adds_received == 4

    # 4 x 100 at 1.00 per 1,000 = 0.40; the Partial portion returns its 0.10.
    first_start = str(parent.portions.get(portion=1).start_count)
    expected = {
        "charge": "0.30", "start_count": first_start, "status": "Partial", "remains": "100",
        "currency": "USD", "runs": "4", "orders": portions,
    }  # fmt: skip
    _, single = call(key=api_key, action="status", order=parent.pk)
    assert single == expected
    _, multi = call(key=api_key, action="status", orders=f"{parent.pk},{portions[0]}")
    assert multi[str(parent.pk)] == expected
    assert "runs" not in multi[str(portions[0])]  # a portion is an order of its own
    assert ledger_verify().problems == []
    call_command("ledger_check")


# --- only orderable types are listed -------------------------------------------------------------
@pytest.fixture
def subscription():
    return ServiceFactory(type=Service.Type.SUBSCRIPTIONS, name="Auto Likes [Subscription]")


@pytest.fixture
def subscriptions_refused(monkeypatch):
    """A panel that does not take Subscriptions (as before R-ORD-11 was built)."""
    monkeypatch.setattr(
        catalog_models, "ORDERABLE_TYPES", catalog_models.ORDERABLE_TYPES - {"Subscriptions"}
    )


@pytest.mark.usefixtures("subscriptions_refused")
def test_services_does_not_list_a_type_the_panel_refuses(call, api_key, subscription):
    default = ServiceFactory(name="Followers")
    assert not service_type_orderable(Service.Type.SUBSCRIPTIONS)
    _, body = call(key=api_key, action="services")
    assert [row["service"] for row in body] == [default.pk]
    # What is listed is what `add` takes; what is refused is not listed.
    _, refused = call(
        key=api_key, action="add", service=subscription.pk, username="someone", min=10, max=20
    )
    assert refused == {"error": "Incorrect request"}


def test_one_switch_lists_and_takes_a_type(call, api_key, subscription):
    # Subscriptions work (R-ORD-11): the type is in ORDERABLE_TYPES, listed and taken.
    assert service_type_orderable("Subscriptions")
    _, body = call(key=api_key, action="services")
    assert [row["service"] for row in body] == [subscription.pk]


@pytest.mark.usefixtures("subscriptions_refused")
def test_the_services_and_new_order_pages_leave_it_out(client, subscription):
    shown = ServiceFactory(name="Followers [Real]")
    page = client.get("/services/").content.decode()
    assert shown.name in page
    assert subscription.name not in page
    assert subscription.category.name not in page  # no empty category either
    client.force_login(funded_customer(deposited="1"))
    page = client.get("/orders/new/").content.decode()
    assert shown.name in page
    assert subscription.name not in page
