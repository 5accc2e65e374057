"""API v2 order actions against API_V2.md: add, status, cancel, refill, refill_status."""

from decimal import Decimal

import pytest

from accounts.services import api_key_issue
from catalog.models import Service
from catalog.services import service_set_enabled
from orders.models import Order
from tests.billing.factories import fund
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import LINK, funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal
OTHER_LINK = "https://www.instagram.com/someone_else/"


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    settings.ORDERS_LINK_CHECK = False


@pytest.fixture
def service():
    return ServiceFactory(rate=D("0.90"), min_quantity=50, max_quantity=10000, cancel=True)


@pytest.fixture
def funded(api_user):
    fund(api_user, deposited="10")
    return api_user


def _add(call, key, transport="form", **fields):
    return call(transport, key=key, action="add", **fields)


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_add_places_an_order_through_order_place(call, api_key, funded, service, transport):
    # R-ORD-1, R-ORD-2: 1,000 at 0.90 per 1,000 costs 0.90.
    status, body = _add(call, api_key, transport, service=service.pk, link=LINK, quantity=1000)
    assert status == 200
    order = Order.objects.get(pk=body["order"])
    assert isinstance(body["order"], int)
    assert (order.user, order.source, order.charge) == (funded, "api", D("0.90000"))


def test_add_package_takes_a_link_only(call, api_key, funded):
    package = ServiceFactory(type=Service.Type.PACKAGE, rate=D("2.50"), min_quantity=1)
    _, body = _add(call, api_key, service=package.pk, link=LINK)
    order = Order.objects.get(pk=body["order"])
    assert (order.quantity, order.charge) == (1, D("2.50000"))


def test_add_custom_comments_counts_the_lines(call, api_key, funded):
    comments = ServiceFactory(
        type=Service.Type.CUSTOM_COMMENTS, rate=D("10.00"), min_quantity=1, max_quantity=100
    )
    _, body = _add(call, api_key, service=comments.pk, link=LINK, comments="Nice!\nWow\n\nGreat")
    order = Order.objects.get(pk=body["order"])
    assert order.quantity == 3
    assert order.extra["comments"] == "Nice!\nWow\nGreat"


def test_add_drip_feed_costs_runs_times_quantity(call, api_key, funded):  # R-ORD-2
    drip = ServiceFactory(dripfeed=True, rate=D("1.00"))
    _, body = _add(call, api_key, service=drip.pk, link=LINK, quantity=100, runs=5, interval=30)
    order = Order.objects.get(pk=body["order"])
    assert (order.quantity, order.charge) == (500, D("0.50000"))
    assert (order.extra["runs"], order.extra["interval"]) == (5, 30)


def test_add_stores_other_types_fields(call, api_key, funded):
    poll = ServiceFactory(rate=D("1.00"))
    _, body = _add(call, api_key, service=poll.pk, link=LINK, quantity=100, answer_number="2")
    assert Order.objects.get(pk=body["order"]).extra["answer_number"] == "2"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service": "999999"}, "Incorrect service ID"),
        ({"service": "abc"}, "Incorrect service ID"),
        ({"link": "not a link"}, "Incorrect link"),
        ({"quantity": "10"}, "Quantity less than minimal 50"),
        ({"quantity": "10001"}, "Quantity more than maximum 10000"),
        ({"quantity": "5000000"}, "Quantity more than maximum 10000"),
        ({"quantity": "many"}, "Incorrect request"),
        ({"quantity": ""}, "Incorrect request"),
    ],
)
def test_add_refusals_use_the_contract_wording(call, api_key, funded, service, fields, message):
    # R-ORD-3
    request = {"service": service.pk, "link": LINK, "quantity": 1000, **fields}
    assert _add(call, api_key, **request) == (200, {"error": message})
    assert not Order.objects.exists()


def test_add_disabled_service_is_an_incorrect_service_id(call, api_key, funded, service):
    service_set_enabled(service=service, enabled=False)
    answer = _add(call, api_key, service=service.pk, link=LINK, quantity=1000)
    assert answer == (200, {"error": "Incorrect service ID"})


def test_add_without_funds(call, api_key, api_user, service):  # R-ORD-3, R-BAL-5
    answer = _add(call, api_key, service=service.pk, link=LINK, quantity=1000)
    assert answer == (200, {"error": "Not enough funds on balance"})
    assert not Order.objects.exists()


def test_add_overlapping_active_order_is_refused(call, api_key, funded, service):  # R-ORD-12
    assert "order" in _add(call, api_key, service=service.pk, link=LINK, quantity=1000)[1]
    answer = _add(call, api_key, service=service.pk, link=LINK, quantity=1000)
    assert answer == (
        200,
        {"error": "You have active order with this link. Please wait until order being completed."},
    )
    assert "order" in _add(call, api_key, service=service.pk, link=OTHER_LINK, quantity=1000)[1]


def test_add_with_idempotency_key_never_makes_a_second_order(call, api_key, funded, service):
    fields = {"service": service.pk, "link": LINK, "quantity": 1000, "idempotency_key": "k-1"}
    first = _add(call, api_key, **fields)
    again = _add(call, api_key, **fields)
    assert first == again
    assert Order.objects.count() == 1


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_status_of_one_order(call, api_key, funded, service, transport):  # R-ORD-4, R-ORD-5
    order = place(funded, service, quantity=1000)
    status, body = call(transport, key=api_key, action="status", order=order.pk)
    assert status == 200
    assert body == {
        "charge": "0.90",
        "start_count": "0",
        "status": "Pending",
        "remains": "1000",
        "currency": "USD",
    }


def test_status_shows_start_count_and_remains_as_strings(call, api_key, funded, service):
    order = place(funded, service, quantity=1000)
    Order.objects.filter(pk=order.pk).update(
        status=Order.Status.PARTIAL, start_count=3572, remains=157
    )
    _, body = call(key=api_key, action="status", order=order.pk)
    assert (body["status"], body["start_count"], body["remains"]) == ("Partial", "3572", "157")


def test_status_of_another_accounts_order_is_incorrect(call, api_key, service):
    stranger = funded_customer(deposited="5")
    order = place(stranger, service, quantity=1000)
    assert call(key=api_key, action="status", order=order.pk) == (
        200,
        {"error": "Incorrect order ID"},
    )
    assert call(key=api_key, action="status", order="x")[1] == {"error": "Incorrect order ID"}


def test_multi_status_answers_each_id_inline(call, api_key, funded, service):
    mine = place(funded, service, quantity=1000)
    theirs = place(funded_customer(deposited="5"), service, quantity=1000)
    _, body = call(key=api_key, action="status", orders=f"{mine.pk},{theirs.pk},999999")
    assert body[str(mine.pk)]["status"] == "Pending"
    assert body[str(theirs.pk)] == {"error": "Incorrect order ID"}
    assert body["999999"] == {"error": "Incorrect order ID"}


def test_multi_status_takes_at_most_100_ids(call, api_key, funded):
    ids = ",".join(str(n) for n in range(1, 102))
    assert call(key=api_key, action="status", orders=ids) == (200, {"error": "Incorrect request"})
    ids = ",".join(str(n) for n in range(1, 101))
    assert len(call(key=api_key, action="status", orders=ids)[1]) == 100


def test_cancel_answers_per_order(call, api_key, funded, service):  # R-ORD-6, R-ORD-8
    order = place(funded, service, quantity=1000)
    theirs = place(funded_customer(deposited="5"), service, quantity=1000)
    _, body = call(key=api_key, action="cancel", orders=f"{order.pk},{theirs.pk}")
    assert body == [
        {"order": order.pk, "cancel": 1},
        {"order": theirs.pk, "cancel": {"error": "Incorrect order ID"}},
    ]
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELED
    _, body = call(key=api_key, action="cancel", orders=str(order.pk))
    assert body == [{"order": order.pk, "cancel": {"error": "Order cannot be canceled"}}]


def test_cancel_refused_when_the_service_does_not_allow_it(call, api_key, funded):  # R-ORD-6
    fixed = ServiceFactory(cancel=False)
    order = place(funded, fixed, quantity=1000)
    _, body = call(key=api_key, action="cancel", orders=str(order.pk))
    assert body == [{"order": order.pk, "cancel": {"error": "Order cannot be canceled"}}]


def test_refill_answers_in_contract_shape(call, api_key, funded, service):  # R-ORD-13
    order = place(funded, service, quantity=1000)
    assert call(key=api_key, action="refill", order=order.pk) == (
        200,
        {"error": "Refill is disabled for this service"},
    )
    assert call(key=api_key, action="refill", order=999999)[1] == {"error": "Incorrect order ID"}
    _, body = call(key=api_key, action="refill", orders=f"{order.pk},999999")
    assert body == [
        {"order": order.pk, "refill": {"error": "Refill is disabled for this service"}},
        {"order": 999999, "refill": {"error": "Incorrect order ID"}},
    ]


def test_refill_status_of_unknown_refills(call, api_key):
    assert call(key=api_key, action="refill_status", refill=1) == (
        200,
        {"error": "Refill not found"},
    )
    _, body = call(key=api_key, action="refill_status", refills="1,2")
    assert body == [
        {"refill": 1, "status": {"error": "Refill not found"}},
        {"refill": 2, "status": {"error": "Refill not found"}},
    ]


def test_multi_refill_refill_status_and_cancel_answer_a_malformed_id_inline(
    call, api_key, funded, service
):  # API_V2.md: a multi call answers each id, like multi status; never the whole call refused
    order = place(funded, service, quantity=1000)
    _, body = call(key=api_key, action="refill", orders=f"{order.pk},x1,-2")
    assert body == [
        {"order": order.pk, "refill": {"error": "Refill is disabled for this service"}},
        {"order": "x1", "refill": {"error": "Incorrect order ID"}},
        {"order": "-2", "refill": {"error": "Incorrect order ID"}},
    ]
    _, body = call(key=api_key, action="refill_status", refills="1,abc")
    assert body == [
        {"refill": 1, "status": {"error": "Refill not found"}},
        {"refill": "abc", "status": {"error": "Refill not found"}},
    ]
    _, body = call(key=api_key, action="cancel", orders=f"{order.pk},1e3")
    assert body == [
        {"order": order.pk, "cancel": 1},
        {"order": "1e3", "cancel": {"error": "Incorrect order ID"}},
    ]
    # More than 100 ids, or none, is still a malformed request.
    too_many = ",".join(str(n) for n in range(1, 102))
    assert call(key=api_key, action="refill", orders=too_many)[1] == {"error": "Incorrect request"}
    assert call(key=api_key, action="refill_status", refills=" , ")[1] == {
        "error": "Incorrect request"
    }


def test_balance_falls_by_the_charge_of_an_api_order(call, api_key, funded, service):
    _add(call, api_key, service=service.pk, link=LINK, quantity=1000)
    assert call(key=api_key, action="balance")[1] == {"balance": "9.10", "currency": "USD"}


def test_a_suspended_accounts_key_places_nothing(call, api_key, funded, service):  # R-KEY-3
    funded.status = funded.Status.SUSPENDED
    funded.save()
    answer = _add(call, api_key, service=service.pk, link=LINK, quantity=1000)
    assert answer == (200, {"error": "Invalid API key"})
    assert not Order.objects.exists()


def test_a_regenerated_key_stops_the_old_one_at_once(call, api_key, api_user):  # R-KEY-2
    api_key_issue(user=api_user)
    assert call(key=api_key, action="balance") == (200, {"error": "Invalid API key"})


def test_add_subscription_answers_in_contract_shape(call, api_key, funded):
    # R-ORD-11: accepted; nothing is charged until a cycle runs (test_subscriptions.py).
    subscription = ServiceFactory(type=Service.Type.SUBSCRIPTIONS, rate=D("1.00"))
    status, body = _add(
        call, api_key, service=subscription.pk, username="someone", min=100, max=200, delay=30
    )
    assert status == 200
    order = Order.objects.get(pk=body["order"])
    assert (order.link, order.charge, order.subscription.delay) == ("someone", D("0"), 30)
    assert call(key=api_key, action="balance")[1]["balance"] == "10.00"
    _, bad = _add(call, api_key, service=subscription.pk, username="x", min=100, max=200, delay=7)
    assert bad == {"error": "Incorrect request"}


def test_status_charge_is_net_of_the_partial_return(call, api_key, funded, service):
    # R-ORD-7: 1,000 at 0.90 with 250 undelivered returns 0.225; the order costs 0.675.
    from orders.services import order_staff_partial
    from tests.factories import StaffFactory

    order = place(funded, service, quantity=1000)
    Order.objects.filter(pk=order.pk).update(status=Order.Status.IN_PROGRESS, start_count=10)
    order_staff_partial(order_id=order.pk, remains=250, actor=StaffFactory(), reason="test")
    _, body = call(key=api_key, action="status", order=order.pk)
    assert body == {
        "charge": "0.675",
        "start_count": "10",
        "status": "Partial",
        "remains": "250",
        "currency": "USD",
    }
    assert call(key=api_key, action="balance")[1]["balance"] == "9.325"
