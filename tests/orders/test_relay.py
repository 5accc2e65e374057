"""The relay to providers, against the simulator over real HTTP (R-ORD-9, R-PRV-4).

Tasks run inline here (the test settings); ``django_capture_on_commit_callbacks`` runs
what a commit would start. The end-to-end tests with a real worker are in test_worker.py.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.selectors import balance_get
from catalog.models import Service
from orders.exceptions import StaffActionRefused
from orders.models import Order, OrderEvent
from orders.services import order_reconcile, order_resend
from orders.services.relay import order_relay, orders_poll, orders_relay_due, relay_backoff
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import StaffFactory
from tests.orders.conftest import REMOTE_ID
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal
RelayState = Order.RelayState


@pytest.fixture
def customer_with_funds():
    return funded_customer(deposited="20", promotional="1")


@pytest.fixture
def placed(customer_with_funds, routed_service, django_capture_on_commit_callbacks):
    """Place an order and run what its commit starts (the relay, inline)."""

    def _place(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            order = place(customer_with_funds, routed_service, **fields)
        order.refresh_from_db()
        return order

    return _place


@pytest.fixture
def run_due(django_capture_on_commit_callbacks, settings):
    """One beat of ``orders_relay_due`` with the retries it hands on, run inline."""
    settings.ORDERS_RELAY_BACKOFF_SECONDS = 0

    def _run(order=None):
        with django_capture_on_commit_callbacks(execute=True):
            orders_relay_due()
        if order is not None:
            order.refresh_from_db()

    return _run


def test_sent_to_the_first_ranked_route_with_order_fields_only(placed, simulator, routed_service):
    # R-PRV-4: only the service, link and quantity go to the provider.
    order = placed(quantity=1500)
    assert order.relay_state == RelayState.PLACED
    assert order.provider.name == "Simulator"
    remote = simulator.orders[order.provider_order_id]
    assert (remote.service, remote.link, remote.quantity) == (102, order.link, 1500)
    assert simulator.adds_received == 1
    assert simulator.last_request["fields"] == ["action", "key", "link", "quantity", "service"]
    assert order.poll_due_at is not None
    note = order.events.get(staff_only=True).note
    assert note == f"Sent to Simulator: its order {order.provider_order_id}."


def test_routes_are_tried_by_priority(customer_with_funds, sim_provider, sim_provider_b,
                                      django_capture_on_commit_callbacks):  # fmt: skip
    service = ServiceFactory(rate=D("1.20"), min_quantity=100, max_quantity=20000)
    ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id="102",
                           priority=2, provider_rate=D("0.45"))  # fmt: skip
    ProviderServiceFactory(service=service, provider=sim_provider_b, remote_service_id="102",
                           priority=1, provider_rate=D("0.45"))  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer_with_funds, service)
    order.refresh_from_db()
    assert order.provider == sim_provider_b
    assert order.provider_order_id == 23501


def test_429_is_retried_with_backoff_until_it_goes_through(placed, simulator, run_due, settings):
    settings.ORDERS_RELAY_RETRIES = 5
    simulator.inject("http_error", action="add", status=429, times=2, process=False)
    order = placed()
    assert (order.relay_state, order.relay_attempts) == (RelayState.QUEUED, 1)
    assert order.next_attempt_at is not None
    run_due(order)
    assert order.relay_state == RelayState.QUEUED
    run_due(order)
    assert order.relay_state == RelayState.PLACED
    assert (simulator.adds_received, simulator.orders_placed) == (3, 1)
    retries = order.events.filter(staff_only=True, note__contains="Retry").count()
    assert retries == 2


@pytest.mark.parametrize("status", [500, 503])
def test_a_5xx_on_add_waits_for_reconciliation_never_a_second_add(
    placed, simulator, run_due, settings, status
):  # R-ORD-9, API_V2.md "As a client of providers" (issue 9)
    settings.ORDERS_RELAY_RETRIES = 5
    simulator.inject("http_error", action="add", status=status, times=1, process=True)
    order = placed()
    assert (order.status, order.relay_state) == ("pending", RelayState.RECONCILE)
    assert order.next_attempt_at is None
    run_due(order)
    assert order.relay_state == RelayState.RECONCILE
    assert (simulator.adds_received, simulator.orders_placed) == (1, 1)


def test_a_retry_is_not_sent_before_it_is_due(placed, simulator, settings,
                                              django_capture_on_commit_callbacks):  # fmt: skip
    settings.ORDERS_RELAY_BACKOFF_SECONDS = 60
    simulator.inject("out_of_funds", action="add", times=1)
    order = placed()
    assert order.next_attempt_at > timezone.now() + timedelta(seconds=50)
    with django_capture_on_commit_callbacks(execute=True):
        orders_relay_due()
        order_relay(order_id=order.pk)  # a stray message changes nothing either
    assert simulator.adds_received == 1


def test_backoff_doubles_up_to_its_cap(settings):
    settings.ORDERS_RELAY_BACKOFF_SECONDS = 30
    settings.ORDERS_RELAY_BACKOFF_MAX_SECONDS = 100
    waits = [relay_backoff(n).total_seconds() for n in (1, 2, 3, 4)]
    assert waits == [30, 60, 100, 100]


@pytest.fixture
def two_routes(routed_service, sim_provider_b):
    ProviderServiceFactory(
        service=routed_service, provider=sim_provider_b, remote_service_id=REMOTE_ID, priority=2,
        provider_rate=D("0.45"),
    )  # fmt: skip
    return routed_service


def test_a_refusing_first_provider_hands_over_to_the_second(
    two_routes, placed, simulator, simulator_b
):
    simulator.inject("error", action="add", message="error.incorrect_service_id")
    order = placed()
    assert order.relay_state == RelayState.PLACED
    assert order.provider.name == "Simulator B"
    assert (simulator.adds_received, simulator_b.adds_received) == (1, 1)
    assert order.routes_tried == [two_routes.provider_services.get(priority=1).pk]
    assert order.events.filter(note__startswith="Failing over to Simulator B").exists()


@pytest.mark.usefixtures("two_routes")
def test_retries_on_a_route_are_bounded_then_the_next_route_gets_it(
    placed, simulator, simulator_b, run_due, settings
):
    settings.ORDERS_RELAY_RETRIES = 3
    simulator.inject("out_of_funds", action="add", untranslated=True)
    order = placed()
    run_due(order)
    run_due(order)  # the third attempt gives up on the route and fails over at once
    assert order.relay_state == RelayState.PLACED
    assert order.provider.name == "Simulator B"
    assert (simulator.adds_received, simulator_b.adds_received) == (3, 1)


def test_a_final_refusal_on_the_last_route_cancels_with_a_full_return(
    placed, simulator, customer_with_funds
):  # R-ORD-9, R-ORD-8
    simulator.inject("error", action="add", message="neworder.error.link")
    order = placed(quantity=1000)  # 1.20: 1.00 promotional + 0.20 deposited
    assert (order.status, order.relay_state, order.refunded) == ("canceled", "closed", D("1.20"))
    balance = balance_get(user=customer_with_funds)
    assert (balance.promotional, balance.deposited) == (D("1.00"), D("20.00"))
    event = order.events.get(new_status="canceled")
    assert (event.cause, event.staff_only) == ("provider", False)


def test_every_route_out_of_retries_leaves_it_failed_for_staff_to_resend(
    placed, simulator, run_due, settings, django_capture_on_commit_callbacks
):
    settings.ORDERS_RELAY_RETRIES = 2
    simulator.inject("http_error", action="add", status=429, process=False)
    order = placed()
    run_due(order)
    assert (order.status, order.relay_state) == ("pending", RelayState.FAILED)
    assert order.needs_staff
    assert "HTTP 429" in order.relay_error
    simulator.clear_faults()
    with django_capture_on_commit_callbacks(execute=True):
        order_resend(order_id=order.pk, actor=StaffFactory())
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert simulator.orders_placed == 1


def test_an_ambiguous_add_is_never_sent_again_and_waits_for_staff(
    placed, simulator, run_due, settings, django_capture_on_commit_callbacks
):
    settings.PROVIDER_TIMEOUT = 0.3
    simulator.inject("delay", action="add", seconds=0.6, times=1)  # placed, answer too late
    order = placed()
    settings.PROVIDER_TIMEOUT = 20  # the rest of the test talks to a healthy provider
    assert order.relay_state == RelayState.RECONCILE
    assert order.provider.name == "Simulator"
    assert order.needs_staff
    for _ in range(3):
        run_due(order)
        order_relay(order_id=order.pk)
    simulator_orders = list(simulator.orders.values())
    assert simulator.adds_received == 1
    assert len(simulator_orders) == 1
    # Staff look the order up at the provider and record its id; polling takes over.
    staff = StaffFactory()
    with pytest.raises(StaffActionRefused):
        order_reconcile(order_id=order.pk, provider_order_id=0, actor=staff)
    order_reconcile(order_id=order.pk, provider_order_id=simulator_orders[0].id, actor=staff)
    order.refresh_from_db()
    assert (order.relay_state, order.provider_order_id) == ("placed", simulator_orders[0].id)
    simulator.step_seconds = 0
    orders_poll()
    order.refresh_from_db()
    assert order.status == "completed"
    assert simulator.adds_received == 1


@pytest.mark.parametrize("fault", ["html", "garbage", "empty", "drop"])
def test_broken_answers_to_add_are_ambiguous(placed, simulator, fault):
    simulator.inject(fault, action="add", times=1)
    order = placed()
    assert order.relay_state == RelayState.RECONCILE
    assert simulator.adds_received == 1


def test_a_connect_failure_is_safe_to_retry(placed, sim_provider, simulator, run_due):
    # Nothing reached the provider, so trying again cannot place it twice.
    url = sim_provider.api_url
    sim_provider.api_url = "http://127.0.0.1:9/api/v2"
    sim_provider.save()
    order = placed()
    assert order.relay_state == RelayState.QUEUED
    sim_provider.api_url = url
    sim_provider.save()
    run_due(order)
    assert order.relay_state == RelayState.PLACED


def test_a_send_that_outlives_its_lease_goes_to_reconciliation(placed, simulator, run_due):
    # A worker died mid-send: the add may or may not have landed.
    order = placed()
    Order.objects.filter(pk=order.pk).update(
        relay_state=RelayState.SENDING,
        provider_order_id=None,
        lease_until=timezone.now() - timedelta(seconds=1),
    )
    run_due(order)
    assert order.relay_state == RelayState.RECONCILE
    assert "did not finish" in order.relay_error


def test_a_lost_relay_message_is_handed_on_again(customer_with_funds, routed_service, simulator,
                                                 run_due):  # fmt: skip
    order = place(customer_with_funds, routed_service)  # its commit never ran: message lost
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    run_due(order)
    assert order.relay_state == RelayState.PLACED


def test_the_providers_order_id_is_unique_per_provider(placed, simulator):
    first = placed(link="https://www.instagram.com/a/")
    simulator.reset()  # the provider hands out the same id again
    second = placed(link="https://www.instagram.com/b/")
    assert first.provider_order_id == 23501
    assert second.provider_order_id is None
    assert second.relay_state == RelayState.RECONCILE
    assert "already in use" in second.relay_error
    with pytest.raises(StaffActionRefused):
        order_reconcile(order_id=second.pk, provider_order_id=23501, actor=StaffFactory())


def test_a_manual_service_waits_in_the_staff_queue(customer_with_funds, simulator,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    manual = ServiceFactory()
    with django_capture_on_commit_callbacks(execute=True):
        order = place(customer_with_funds, manual)
    order.refresh_from_db()
    assert (order.status, order.relay_state) == ("pending", RelayState.MANUAL)
    assert order.needs_staff
    assert simulator.adds_received == 0


def test_no_usable_route_fails_instead_of_waiting_forever(placed, routed_service, simulator):
    routed_service.provider_services.update(enabled=False)
    order = placed()
    assert order.relay_state == RelayState.FAILED
    assert simulator.adds_received == 0


def test_fields_of_each_type_reach_the_provider(customer_with_funds, sim_provider, simulator,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    comments = ServiceFactory(type=Service.Type.CUSTOM_COMMENTS, rate=D("9"), min_quantity=5,
                              max_quantity=500)  # fmt: skip
    package = ServiceFactory(type=Service.Type.PACKAGE, rate=D("1"), min_quantity=1,
                             max_quantity=1)  # fmt: skip
    drip = ServiceFactory(dripfeed=True, min_quantity=100, max_quantity=50000)
    for service, remote in ((comments, "107"), (package, "123"), (drip, "101")):
        ProviderServiceFactory(service=service, provider=sim_provider, remote_service_id=remote,
                               provider_rate=D("0.01"))  # fmt: skip
    sent = {}
    with django_capture_on_commit_callbacks(execute=True):
        for service, fields in (
            (comments, {"comments": "a\nb\nc\nd\ne"}),
            (package, {}),
            (drip, {"quantity": 100, "extra": {"runs": 3, "interval": 10}}),
        ):
            fields.setdefault("quantity", None)
            sent[service.type + str(service.dripfeed)] = place(
                customer_with_funds, service, **fields
            )
    # A drip-feed order is never sent itself: its first portion goes (R-ORD-10).
    first = Order.objects.get(parent=sent["DefaultTrue"], portion=1)
    sent["DefaultTrue"] = first
    remote = {key: simulator.orders[Order.objects.get(pk=o.pk).provider_order_id]
              for key, o in sent.items()}  # fmt: skip
    assert remote["Custom CommentsFalse"].quantity == 5
    assert remote["PackageFalse"].quantity == 1
    assert remote["DefaultTrue"].quantity == 100  # 100 per run, one run at a time
    assert Order.objects.get(pk=first.parent_id).provider_order_id is None


def test_events_of_the_relay_are_for_staff_only(placed):
    order = placed()
    visible = OrderEvent.objects.filter(order=order, staff_only=False)
    assert list(visible.values_list("new_status", flat=True)) == ["pending"]
    assert "Simulator" not in " ".join(visible.values_list("note", flat=True))
