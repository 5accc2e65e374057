"""Subscriptions run by the panel (R-ORD-11): fields, cycles charged as they run, skipped
cycles for lack of funds (never retried), the pause after N, cancel, and the API status.

Tasks run inline (the test settings); a cycle's order goes to the simulator over HTTP.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Notice
from billing.selectors import balance_get
from catalog.models import Service
from orders.api.actions import status as api_status
from orders.exceptions import IncorrectRequest, QuantityRefused
from orders.models import Order, Subscription, SubscriptionCycle
from orders.services.relay.subscription import subscription_resume, subscriptions_due
from tests.catalog.factories import ProviderServiceFactory, ServiceFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _ledger_checked_after_each_scenario(assert_ledger_ok):
    """Issue 10, Done when 1: ``ledger_check`` passes after each scenario (R-BAL-3)."""
    yield
    assert_ledger_ok()


FUTURE = (timezone.now() + timedelta(days=40)).strftime("%d/%m/%Y")


@pytest.fixture
def sub_service(sim_provider):
    """Auto likes at 2.00 per 1,000, relayed to the simulator's subscription service 109."""
    service = ServiceFactory(
        type=Service.Type.SUBSCRIPTIONS, rate=D("2.00"), min_quantity=50, max_quantity=5000,
        link_rule="username",
    )  # fmt: skip
    ProviderServiceFactory(
        service=service, provider=sim_provider, remote_service_id="109", provider_rate=D("0.20")
    )
    return service


def _subscribe(user, service, **fields):
    extra = {"username": "brand_account", "min": "500", "max": "500", "delay": "0", **fields}
    return place(user, service, quantity=None, link="", extra=extra)


def _due(capture):
    Subscription.objects.update(next_cycle_at=timezone.now() - timedelta(seconds=1))
    with capture(execute=True):
        return subscriptions_due()


def test_subscription_takes_its_fields_and_costs_nothing_until_a_cycle(sub_service):
    # R-ORD-11: username, min, max, posts, old_posts, delay, expiry (API_V2.md).
    user = funded_customer(deposited="5")
    order = _subscribe(
        user, sub_service, min="100", max="200", posts="3", old_posts="2", delay="30",
        expiry=FUTURE,
    )  # fmt: skip
    sub = order.subscription
    assert (sub.username, sub.min_quantity, sub.max_quantity) == ("brand_account", 100, 200)
    assert (sub.posts, sub.old_posts, sub.delay) == (3, 2, 30)
    assert sub.expiry.strftime("%d/%m/%Y") == FUTURE
    assert sub.next_cycle_at <= timezone.now()  # the old posts first, at once
    later = _subscribe(user, sub_service, username="other_brand", delay="30")
    wait = later.subscription.next_cycle_at - timezone.now()
    assert timedelta(minutes=29) < wait <= timedelta(minutes=30)  # a new post: the delay
    assert (order.charge, order.relay_state, order.status) == (D("0"), "parent", "pending")
    assert balance_get(user=user).total == D("5")
    answer = api_status(user=user, params={"order": str(order.pk)})
    assert (answer["posts"], answer["expiry"], answer["status"]) == ("0", FUTURE, "Pending")
    assert (answer["charge"], answer["remains"]) == ("0.00", "0")  # no cycle ordered yet


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"username": ""}, "username"),
        ({"min": "300", "max": "200"}, "min"),
        ({"delay": "7"}, "delay"),
        ({"expiry": "2030-01-01"}, "expiry"),
        ({"expiry": "01/01/2020"}, "expiry"),
        ({"posts": "0"}, "posts"),
        ({"max": "x"}, "max"),
    ],
)
def test_subscription_fields_are_checked(sub_service, fields, field):
    user = funded_customer(deposited="5")
    with pytest.raises(IncorrectRequest) as refused:
        _subscribe(user, sub_service, **fields)
    assert refused.value.field == field
    assert not Order.objects.exists()


def test_subscription_limits_are_the_services(sub_service):
    user = funded_customer(deposited="5")
    with pytest.raises(QuantityRefused):
        _subscribe(user, sub_service, min="10", max="100")  # below the service's 50
    with pytest.raises(QuantityRefused):
        _subscribe(user, sub_service, min="100", max="6000")


def test_each_cycle_is_an_order_charged_when_it_runs(
    sub_service, simulator, assert_ledger_ok, django_capture_on_commit_callbacks
):
    # R-ORD-11, R-ORD-2: 500 likes at 2.00 per 1,000 = 1.00 per cycle, sent to the provider.
    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service, posts="2")
    assert _due(django_capture_on_commit_callbacks) == 1
    cycle = Order.objects.get(parent=order)
    assert (cycle.quantity, cycle.charge, cycle.relay_state) == (500, D("1.00"), "placed")
    remote = simulator.orders[cycle.provider_order_id]
    assert (remote.link, remote.quantity) == ("brand_account", 500)
    assert balance_get(user=user).total == D("4")
    order.refresh_from_db()
    assert order.status == "in_progress"
    sub = Subscription.objects.get(order=order)
    assert sub.posts_done == 1
    assert sub.next_cycle_at > timezone.now() + timedelta(minutes=59)
    assert _due(django_capture_on_commit_callbacks) == 1
    order.refresh_from_db()
    assert order.status == "completed"  # both posts ordered
    assert Subscription.objects.get(order=order).state == "completed"
    assert _due(django_capture_on_commit_callbacks) == 0
    assert Order.objects.filter(parent=order).count() == 2
    answer = api_status(user=user, params={"order": str(order.pk)})
    assert answer["posts"] == "2"
    # Its charge is its cycles' (2 x 1.00), its remains what they have still to deliver.
    cycles = Order.objects.filter(parent=order)
    assert answer["charge"] == "2.00"
    undelivered = sum(c.quantity if c.remains is None else c.remains for c in cycles)
    assert answer["remains"] == str(undelivered) != "500"  # not the subscription's max
    assert_ledger_ok()


def test_unfundable_cycles_are_skipped_never_retried_and_pause_after_n(
    sub_service, settings, assert_ledger_ok, django_capture_on_commit_callbacks
):
    # R-ORD-11: a cycle the balance cannot fund is skipped and said so; N in a row pause it.
    settings.ORDERS_SUBSCRIPTION_MAX_SKIPPED = 2
    user = funded_customer(deposited="1.50")
    order = _subscribe(user, sub_service)
    _due(django_capture_on_commit_callbacks)  # 1.00 paid, 0.50 left
    _due(django_capture_on_commit_callbacks)  # 1.00 > 0.50: skipped
    cycles = list(SubscriptionCycle.objects.filter(subscription__order=order))
    assert [c.outcome for c in cycles] == ["ordered", "skipped"]
    assert cycles[1].note == "skipped: not enough funds"
    sub = Subscription.objects.get(order=order)
    assert (sub.state, sub.skipped_in_row) == ("active", 1)
    assert sub.next_cycle_at > timezone.now()  # the next cycle, not this one again
    assert Order.objects.filter(parent=order).count() == 1
    assert "Cycle 2 skipped: not enough funds." in order.events.values_list("note", flat=True)
    _due(django_capture_on_commit_callbacks)  # skipped again: paused
    sub.refresh_from_db()
    assert (sub.state, sub.skipped_in_row, sub.next_cycle_at) == ("paused", 2, None)
    notice = Notice.objects.get(user=user, kind="subscription_paused")
    assert "paused" in notice.subject
    assert _due(django_capture_on_commit_callbacks) == 0  # a paused one runs nothing
    assert SubscriptionCycle.objects.filter(subscription=sub).count() == 3
    assert balance_get(user=user).total == D("0.50")
    # Funds added, resumed: the next cycle runs.
    from tests.billing.factories import fund

    fund(user, deposited="1")
    subscription_resume(user=user, order=order)
    assert _due(django_capture_on_commit_callbacks) == 1
    assert Order.objects.filter(parent=order).count() == 2
    assert_ledger_ok()


def test_expiry_ends_the_subscription(sub_service, django_capture_on_commit_callbacks):
    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service, expiry=FUTURE)
    Subscription.objects.filter(order=order).update(expiry=timezone.now().date())
    assert _due(django_capture_on_commit_callbacks) == 1
    order.refresh_from_db()
    assert order.status == "completed"
    assert Subscription.objects.get(order=order).state == "expired"
    assert not Order.objects.filter(parent=order).exists()


def test_customer_cancels_a_subscription(sub_service, django_capture_on_commit_callbacks, client):
    # R-ORD-11: runs until canceled; the web Cancel and the API cancel both stop it.
    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service)
    client.force_login(user)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert "brand_account" in page
    assert 'id="cancel-subscription"' in page
    response = client.post(f"/orders/{order.pk}/cancel/", follow=True)
    assert "subscription is canceled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "canceled"
    assert Subscription.objects.get(order=order).state == "canceled"
    assert _due(django_capture_on_commit_callbacks) == 0
    assert balance_get(user=user).total == D("5")


def test_new_order_page_places_a_subscription(sub_service, client):
    # R-ORD-11 on the web: the fields beside the form; a refusal beside its field.
    user = funded_customer(deposited="5")
    client.force_login(user)
    data = {"service": sub_service.pk, "username": "brand_account", "sub_min": "100",
            "sub_max": "300", "delay": "30", "expiry": FUTURE}  # fmt: skip
    response = client.post("/orders/new/", {**data, "sub_min": "10"})
    assert response.status_code == 200
    assert "The minimum for this service is 50." in response.content.decode()
    response = client.post("/orders/new/", {**data, "username": ""})
    assert "Enter the account" in response.content.decode()
    response = client.post("/orders/new/", data)
    assert response.status_code == 302
    order = Order.objects.get(parent=None)
    assert (order.subscription.max_quantity, order.subscription.delay) == (300, 30)


def test_services_lists_subscriptions_now_they_work(sub_service):
    # issue 16 item 6 / R-ORD-11: an orderable type is listed only when the panel takes it.
    from orders.api.actions import services as api_services

    user = funded_customer(deposited="1")
    listed = {row["service"]: row for row in api_services(user=user, params={})}
    assert listed[sub_service.pk]["type"] == "Subscriptions"


def test_staff_cancel_of_a_subscription(sub_service):
    from orders.services import order_staff_cancel
    from tests.factories import StaffFactory

    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service)
    staff = StaffFactory()
    done = order_staff_cancel(order_id=order.pk, actor=staff, reason="Abuse report")
    assert done.status == "canceled"
    assert done.events.last().actor == staff
    assert Subscription.objects.get(order=order).state == "canceled"


def test_staff_see_subscriptions_and_orders_with_portions_in_admin(sub_service, staff_client):
    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service)
    assert staff_client.get("/admin/orders/subscription/").status_code == 200
    sub = Subscription.objects.get(order=order)
    assert staff_client.get(f"/admin/orders/subscription/{sub.pk}/change/").status_code == 200
    assert staff_client.get(f"/admin/orders/order/{order.pk}/change/").status_code == 200
    assert staff_client.get("/admin/orders/refillunsupported/").status_code == 200


def test_old_posts_are_served_first_then_the_new_ones(
    sub_service, django_capture_on_commit_callbacks
):
    # R-ORD-11, API_V2.md: old_posts existing posts, then `posts` new ones.
    user = funded_customer(deposited="10")
    order = _subscribe(user, sub_service, old_posts="2", posts="1", delay="30")
    sub = Subscription.objects.get(order=order)
    assert sub.next_cycle_at <= timezone.now()  # old posts do not wait for the delay
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_due() == 1
    sub.refresh_from_db()
    assert sub.next_cycle_at <= timezone.now()  # the second old post, at the next beat
    with django_capture_on_commit_callbacks(execute=True):
        assert subscriptions_due() == 1
    sub.refresh_from_db()
    assert sub.next_cycle_at > timezone.now() + timedelta(minutes=89)  # cycle + delay
    assert sub.state == "active"
    _due(django_capture_on_commit_callbacks)
    sub.refresh_from_db()
    assert (sub.state, sub.posts_done) == ("completed", 3)


def test_no_cycle_is_charged_while_the_account_is_on_hold(
    sub_service, simulator, assert_ledger_ok, django_capture_on_commit_callbacks
):  # R-AUP-2, R-ORD-11: a held account's balance does not move; the cycle waits
    from legal.services import account_hold, hold_release
    from tests.factories import StaffFactory

    staff = StaffFactory()
    user = funded_customer(deposited="5")
    order = _subscribe(user, sub_service, posts="2")
    hold = account_hold(user=user, reason="Chargebacks from linked cards", actor=staff)
    assert _due(django_capture_on_commit_callbacks) == 1
    assert not Order.objects.filter(parent=order).exists()
    assert balance_get(user=user).total == D("5")
    sub = Subscription.objects.get(order=order)
    assert (sub.state, sub.skipped_in_row) == ("active", 0)
    assert sub.next_cycle_at > timezone.now() + timedelta(minutes=59)
    hold_release(hold=hold, note="Cleared", actor=staff)
    assert _due(django_capture_on_commit_callbacks) == 1
    assert balance_get(user=user).total == D("4")
    assert_ledger_ok()
