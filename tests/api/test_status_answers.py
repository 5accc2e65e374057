"""API ``status`` reads only the columns it answers with (issue 15); its answers are, byte for
byte, the ones built from whole ``Order`` instances and Django's ``get_status_display()``
(R-ORD-4, R-ORD-5, R-ORD-7, R-ORD-8, R-ORD-10, R-ORD-11)."""

import datetime
from decimal import Decimal

import pytest
from django.http import JsonResponse
from django.utils import translation

from billing.money import money_text
from catalog.models import Service
from orders.models import Order, Subscription
from tests.catalog.factories import ServiceFactory
from tests.factories import UserFactory
from tests.orders.factories import OrderFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = Order.Status


def _reference(order_id: int, user) -> dict:
    """One order's answer as it was built from a whole ``Order`` before issue 15."""
    try:
        order = Order.objects.get(pk=order_id, user=user)
    except Order.DoesNotExist:
        return {"error": "Incorrect order ID"}
    with translation.override("en"):
        label = order.get_status_display()
    answer = {
        "charge": money_text(order.charge - order.refunded),
        "start_count": str(order.start_count or 0),
        "status": label,
        "remains": str(order.quantity if order.remains is None else order.remains),
        "currency": "USD",
    }
    if order.is_dripfeed_parent:
        answer["runs"] = str(order.extra["runs"])
        portions = order.portions.filter(portion__isnull=False).order_by("portion")
        answer["orders"] = [portion.pk for portion in portions]
    elif order.is_subscription:
        # R-ORD-11: what its cycles were charged less their returns, and what they have still
        # to deliver (before issue 10's fix: the parent's own 0.00 and its max, which misled).
        cycles = list(Order.objects.filter(parent=order))
        net = order.charge - order.refunded + sum((c.charge - c.refunded for c in cycles), D(0))
        answer["charge"] = money_text(net)
        answer["remains"] = str(sum(c.quantity if c.remains is None else c.remains for c in cycles))
        sub = Subscription.objects.filter(order=order).first()
        if sub is not None:
            answer["posts"] = str(sub.posts_done)
            answer["expiry"] = sub.expiry.strftime("%d/%m/%Y") if sub.expiry else ""
    return answer


def _subscription(order: Order, **fields) -> Subscription:
    return Subscription.objects.create(
        order=order, username="brand", min_quantity=50, max_quantity=100, **fields
    )


@pytest.fixture
def mix(api_user) -> list[Order]:
    """Orders of every shape the answer has: plain ones in each status, Partial and Canceled
    returns, drip-feed parents with their portions, subscriptions with and without a row."""
    service = ServiceFactory()
    subs = ServiceFactory(type=Service.Type.SUBSCRIPTIONS)

    def order(**fields):
        return OrderFactory(user=api_user, service=fields.pop("service", service), **fields)

    orders = [order(status=status) for status in Status.values]  # start_count, remains: NULL
    orders += [
        order(status=Status.IN_PROGRESS, start_count=3572, remains=900, quantity=1000),
        order(status=Status.PARTIAL, charge=D("0.90000"), refunded=D("0.22500"), remains=250),
        order(status=Status.CANCELED, charge=D("1.23456"), refunded=D("1.23456"), remains=1000),
        order(status=Status.COMPLETED, remains=0, start_count=0, extra={"comments": "a\nb"}),
    ]
    drip = order(status=Status.IN_PROGRESS, quantity=1500, extra={"runs": 3, "interval": 30})
    portions = [order(parent=drip, portion=n, quantity=500, extra={"runs": 3}) for n in (2, 1, 3)]
    not_yet = order(quantity=800, extra={"runs": "4", "interval": 10})  # runs sent as text
    orders += [drip, *portions, not_yet, order(extra={"runs": 0}), order(extra={"runs": None})]
    with_row = order(service=subs, service_type=Service.Type.SUBSCRIPTIONS, charge=D("0"))
    _subscription(with_row, posts_done=4, expiry=datetime.date(2099, 1, 31))
    no_expiry = order(service=subs, service_type=Service.Type.SUBSCRIPTIONS, charge=D("0"))
    _subscription(no_expiry)
    no_row = order(service=subs, service_type=Service.Type.SUBSCRIPTIONS, charge=D("0"))
    cycle = order(service=subs, service_type=Service.Type.SUBSCRIPTIONS, parent=with_row)
    return [*orders, with_row, no_expiry, no_row, cycle]


def test_multi_status_is_byte_for_byte_the_whole_order_answer(client, api_key, api_user, mix):
    theirs = OrderFactory(user=UserFactory(), status=Status.PARTIAL, refunded=D("0.1"))
    tokens = [str(order.pk) for order in mix]
    tokens += [str(theirs.pk), "999999999", "abc", "-1", "1.5", f" {mix[0].pk} ", str(mix[1].pk)]
    response = client.post(
        "/api/v2",
        {"key": api_key, "action": "status", "orders": ",".join(tokens)},
        HTTP_ACCEPT_LANGUAGE="es",  # the contract's labels are English whatever the request's
    )
    expected = {
        token: _reference(int(token), api_user)
        if token.isdigit()
        else {"error": "Incorrect order ID"}
        for token in dict.fromkeys(token.strip() for token in tokens)
    }
    assert response.content == JsonResponse(expected).content
    assert response.json()[str(theirs.pk)] == {"error": "Incorrect order ID"}  # ownership


def test_single_status_is_byte_for_byte_the_whole_order_answer(client, api_key, api_user, mix):
    theirs = OrderFactory(user=UserFactory())
    for order_id in [order.pk for order in mix] + [theirs.pk, 999999999]:
        response = client.post("/api/v2", {"key": api_key, "action": "status", "order": order_id})
        assert response.content == JsonResponse(_reference(order_id, api_user)).content, order_id


def test_status_labels_are_the_contracts_english_strings():  # R-ORD-4, API_V2.md
    from orders.api.actions import STATUS_LABELS

    assert list(STATUS_LABELS.values()) == [
        "Pending", "In progress", "Processing", "Completed", "Partial", "Canceled",
    ]  # fmt: skip
