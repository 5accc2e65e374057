"""Issue 16: the relay and polling against providers that answer in real panels' dialects.

The simulator speaks each dialect of ``devtools/dialects.py`` over HTTP. The polling tests
run with a real Celery worker and beat (``tests/orders/celery_worker.py``); the relay's
refusals run inline (``django_capture_on_commit_callbacks``), as in test_relay.py.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.selectors import balance_get
from catalog.services import provider_create
from devtools.dialects import DIALECTS, SCRIPT
from orders.models import Order
from orders.services import order_cancel_request, order_resend, order_staff_cancel
from orders.services.relay import order_cancel_relay, orders_poll
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.factories import StaffFactory
from tests.orders.celery_worker import wait_for
from tests.orders.factories import funded_customer, place

D = Decimal
RelayState = Order.RelayState
ALL = sorted(DIALECTS)
worker = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


def _placed(order: Order) -> Order | None:
    fresh = _fresh(order)
    return fresh if fresh.relay_state == RelayState.PLACED else None


# --- polling, with a real worker ---------------------------------------------------------------
@pytest.mark.parametrize("dialect", ALL)
@pytest.mark.usefixtures("celery_worker")
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_one_unknown_id_does_not_stall_the_batch(dialect, routed_service, simulator):
    # Issue 16, item 1: the provider answers a bare string for the id it does not know;
    # the other ids of the batch are applied (R-ORD-4, R-ORD-7, R-ORD-8).
    simulator.dialect = DIALECTS[dialect]
    simulator.step_seconds = 600  # Pending until forced
    user = funded_customer(deposited="10")
    done = place(user, routed_service, link="https://www.instagram.com/done/")
    partial = place(user, routed_service, link="https://www.instagram.com/partly/")
    refunded = place(user, routed_service, link="https://www.instagram.com/refunded/")
    lost = place(user, routed_service, link="https://www.instagram.com/lost/")
    done, partial, refunded, lost = (
        wait_for(lambda o=o: _placed(o), what=f"{o.link} placed")
        for o in (done, partial, refunded, lost)
    )
    simulator.orders.pop(lost.provider_order_id)  # "Incorrect order ID" from now on
    simulator.force_status(done.provider_order_id, "Completed", 0)
    simulator.force_status(partial.provider_order_id, "Partial", 250)
    simulator.force_status(refunded.provider_order_id, "Canceled")  # "Refunded" in the script

    done, partial, refunded = (
        wait_for(lambda o=o: (f := _fresh(o)).is_final and f, what=f"{o.link} final")
        for o in (done, partial, refunded)
    )
    lost = wait_for(
        lambda: (f := _fresh(lost)).relay_state == RelayState.RECONCILE and f,
        what="the unknown order to go to staff",
    )
    assert (done.status, done.refunded) == ("completed", D("0"))
    assert (partial.status, partial.remains, partial.refunded) == ("partial", 250, D("0.30"))
    assert (refunded.status, refunded.refunded) == ("canceled", D("1.20"))
    assert done.start_count is not None
    assert done.start_count > 0
    assert (lost.status, lost.needs_staff) == ("pending", True)
    assert "Incorrect order ID" in lost.relay_error
    assert balance_get(user=user).deposited == D("10") - 4 * D("1.20") + D("0.30") + D("1.20")
    call_command("ledger_check")


@pytest.mark.parametrize("dialect", ALL)
@pytest.mark.usefixtures("celery_worker")
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_order_pending_at_the_provider_too_long_reaches_the_staff_queue(
    dialect, routed_service, simulator, client
):
    # Issue 16, item 3 (R-ORD-4: staff see provider-side states the customer sees as Pending).
    simulator.dialect = DIALECTS[dialect]
    simulator.step_seconds = 600  # the provider keeps calling it Pending
    user = funded_customer(deposited="5")
    order = place(user, routed_service)
    order = wait_for(lambda: _placed(order), what="placed")
    fresh = wait_for(lambda: (f := _fresh(order)).polled_at and f, what="a poll that says Pending")
    assert fresh.relay_state == RelayState.PLACED  # Pending, but not for long yet
    # It was sent 25 hours ago (ORDERS_PROVIDER_PENDING_MAX_HOURS is 24).
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now() - timedelta(hours=25))

    stuck = wait_for(
        lambda: (f := _fresh(order)).relay_state == RelayState.STUCK and f, what="stuck"
    )
    assert stuck.status == "pending"  # the customer still sees Pending
    assert stuck.needs_staff
    assert "Still Pending at the provider" in stuck.relay_error
    assert f"its order {stuck.provider_order_id}" in stuck.relay_error
    assert stuck.events.filter(staff_only=True, note=stuck.relay_error).count() == 1
    staff = StaffFactory()
    from allauth.mfa.models import Authenticator

    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    queue = client.get("/admin/orders/staffqueueorder/").content.decode()
    assert f"/admin/orders/staffqueueorder/{order.pk}/change/" in queue
    assert "Stuck at the provider" in queue

    # Still polled: when the provider moves it after all, it flows on by itself.
    simulator.force_status(stuck.provider_order_id, "Completed", 0)
    done = wait_for(lambda: (f := _fresh(order)).is_final and f, what="completed")
    assert (done.status, done.relay_state, done.needs_staff) == ("completed", "placed", False)
    call_command("ledger_check")


# --- inline: one batch, the stuck path and the relay's refusals ---------------------------------
@pytest.fixture
def relayed(routed_service, django_capture_on_commit_callbacks, settings):
    settings.ORDERS_POLL_SECONDS = 0
    user = funded_customer(deposited="20")

    def _relayed(*links):
        with django_capture_on_commit_callbacks(execute=True):
            orders = [place(user, routed_service, link=link) for link in links]
        for order in orders:
            order.refresh_from_db()
        return orders

    _relayed.user = user
    return _relayed


@pytest.mark.django_db
def test_the_batch_is_one_call_and_applies_every_id_but_the_unknown_one(relayed, simulator):
    simulator.dialect = SCRIPT
    simulator.step_seconds = 600
    orders = relayed(*(f"https://www.instagram.com/batch{n}/" for n in range(5)))
    simulator.orders.pop(orders[2].provider_order_id)
    for order in orders[:2] + orders[3:]:
        simulator.force_status(order.provider_order_id, "Completed", 0)
    before = simulator.requests_received

    orders_poll()

    assert simulator.requests_received == before + 1  # one multi-status for all five
    statuses = [(o.status, o.relay_state) for o in Order.objects.order_by("pk")]
    assert (
        statuses
        == [("completed", "placed")] * 2
        + [("pending", "reconcile")]
        + [("completed", "placed")] * 2
    )


@pytest.mark.django_db
def test_a_stuck_order_staff_cancel_tells_the_provider_and_returns_all(
    relayed, simulator, settings, django_capture_on_commit_callbacks
):
    settings.ORDERS_PROVIDER_PENDING_MAX_HOURS = 0
    simulator.step_seconds = 600
    (order,) = relayed("https://www.instagram.com/stuck/")
    orders_poll()
    order.refresh_from_db()
    assert order.relay_state == RelayState.STUCK
    with django_capture_on_commit_callbacks(execute=True):
        order_staff_cancel(order_id=order.pk, actor=StaffFactory(), reason="Stuck there.")
    order.refresh_from_db()
    assert (order.status, order.relay_state, order.refunded) == ("canceled", "placed", D("1.20"))
    assert simulator.orders[order.provider_order_id].canceled  # the provider was told
    call_command("ledger_check")


@pytest.mark.django_db
def test_a_pending_order_within_the_limit_stays_placed(relayed, simulator):
    simulator.step_seconds = 600
    (order,) = relayed("https://www.instagram.com/fresh/")
    orders_poll()
    order.refresh_from_db()
    assert (order.status, order.relay_state, order.relay_error) == ("pending", "placed", "")


@pytest.fixture
def script_route(sim_provider, simulator):
    """A service of ours with looser limits than the provider's, relayed to it."""
    simulator.dialect = SCRIPT
    service = ServiceFactory(rate=D("1.20"), min_quantity=10, max_quantity=100000)
    route = ProviderServiceFactory(
        service=service, provider=sim_provider, remote_service_id="102", provider_rate=D("0.45")
    )
    return service, route


@pytest.mark.parametrize(
    ("quantity", "remote_id", "fault", "wording"),
    [
        (50, "102", None, "Quantity must to be greater than or equal to minimum amount 100"),
        (30000, "102", None, "Quantity must to be less than or equal to maximum amount 20000"),
        (1000, "99999", None, "Service ID does not exists"),
        (1000, "102", "Bad Link", "Bad Link"),
    ],
    ids=["min", "max", "service", "link"],
)
@pytest.mark.django_db
def test_the_scripts_refusals_are_final_not_retried(
    script_route, simulator, quantity, remote_id, fault, wording, django_capture_on_commit_callbacks
):
    # Issue 16, item 2; R-ORD-9: a final refusal on the last route cancels with a full return.
    service, route = script_route
    route.remote_service_id = remote_id
    route.save()
    if fault:
        simulator.inject("error", action="add", message=fault)
    user = funded_customer(deposited="100")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, service, quantity=quantity)
    order.refresh_from_db()
    assert (order.status, order.relay_state, order.refunded) == ("canceled", "closed", order.charge)
    assert simulator.adds_received == 1  # never sent again
    assert wording in order.relay_error  # what staff read: the provider's own words


@pytest.mark.django_db
def test_the_scripts_refused_key_is_an_invalid_key_and_retried(
    simulator, django_capture_on_commit_callbacks
):
    simulator.dialect = SCRIPT
    provider = provider_create(name="Script", api_url=simulator.url, api_key="not-our-key")
    service = ServiceFactory(rate=D("1.20"), min_quantity=100, max_quantity=20000)
    ProviderServiceFactory(
        service=service, provider=provider, remote_service_id="102", provider_rate=D("0.45")
    )
    user = funded_customer(deposited="5")
    with django_capture_on_commit_callbacks(execute=True):
        order = place(user, service)
    order.refresh_from_db()
    assert (order.status, order.relay_state) == ("pending", "queued")  # a retry is due
    assert order.next_attempt_at is not None
    assert "API is Disable" in order.relay_error


@pytest.mark.django_db
def test_a_customer_cancel_of_a_stuck_order_goes_to_the_provider(
    relayed, simulator, settings, django_capture_on_commit_callbacks
):  # R-ORD-6, R-ORD-8
    settings.ORDERS_PROVIDER_PENDING_MAX_HOURS = 0
    simulator.step_seconds = 600
    (order,) = relayed("https://www.instagram.com/stuck-cancel/")
    orders_poll()
    order.refresh_from_db()
    assert order.relay_state == RelayState.STUCK
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=relayed.user, order=order)
    assert simulator.orders[order.provider_order_id].canceled
    orders_poll()  # the provider confirms: Canceled, and no longer stuck
    order.refresh_from_db()
    assert (order.status, order.relay_state, order.refunded) == ("canceled", "placed", D("1.20"))


@pytest.mark.django_db
def test_staff_can_resend_a_stuck_order(
    relayed, simulator, settings, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(simulator, "refuse_duplicates", False)  # the stuck one is still there
    settings.ORDERS_PROVIDER_PENDING_MAX_HOURS = 0
    simulator.step_seconds = 600
    (order,) = relayed("https://www.instagram.com/stuck-resend/")
    orders_poll()
    first = Order.objects.get(pk=order.pk).provider_order_id
    settings.ORDERS_PROVIDER_PENDING_MAX_HOURS = 24
    with django_capture_on_commit_callbacks(execute=True):
        order_resend(order_id=order.pk, actor=StaffFactory())
    order.refresh_from_db()
    assert order.relay_state == RelayState.PLACED
    assert order.provider_order_id != first
    assert simulator.adds_received == 2


@pytest.mark.django_db
def test_this_action_is_invalid_on_cancel_is_said_once_and_not_retried(
    relayed, simulator, django_capture_on_commit_callbacks
):
    simulator.dialect = SCRIPT  # its `cancel` answers "This action is Invalid"
    simulator.step_seconds = 600
    (order,) = relayed("https://www.instagram.com/no-cancel-there/")
    before = simulator.requests_received
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=relayed.user, order=order)
    order.refresh_from_db()
    assert simulator.requests_received == before + 1
    assert order.cancel_sent_at is not None  # asked once: a later run does not ask again
    assert order.events.filter(note="The provider could not cancel this order.").exists()
    assert order.events.filter(staff_only=True, note__contains="This action is Invalid").exists()
    order_cancel_relay(order_id=order.pk)
    assert simulator.requests_received == before + 1
