"""order_place: validation, price, spend and snapshot in one transaction (R-ORD-1..3, R-AUP-1)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from billing.models import Transaction
from billing.selectors import balance_get
from catalog.models import Service
from catalog.services import custom_rate_set, service_set_enabled
from orders.exceptions import (
    IncorrectRequest,
    LinkRefused,
    NotEnoughFunds,
    OrderRefused,
    OverlappingOrder,
    QuantityRefused,
    ServiceRefused,
)
from orders.models import BlockedPattern, Order, OrderEvent
from orders.selectors import order_get_for_user, orders_for_user_by_ids
from orders.services import order_place, order_staff_cancel
from tests.billing.factories import fund
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import LINK, funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def service():
    return ServiceFactory(rate=D("1.20"), min_quantity=50, max_quantity=10000, cancel=True)


def test_places_at_the_live_custom_rate_and_pays_promotional_first(service):
    # R-ORD-2, R-CAT-6, R-BAL-4: 2,500 at 1.20 less 10 % = 2.70; promo 1.00 goes first.
    user = funded_customer(deposited="10", promotional="1")
    custom_rate_set(user=user, discount_percent=D("10"))
    order = place(user, service, quantity=2500, source="api")

    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert order.get_status_display() == "Pending"
    assert (order.rate, order.charge) == (D("1.08000"), D("2.70000"))
    assert (order.paid_promotional, order.paid_deposited) == (D("1.00000"), D("1.70000"))
    assert (order.quantity, order.link, order.source) == (2500, LINK, "api")
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("0"), D("8.30000"))
    spend = Transaction.objects.get(user=user, reason="spend")
    assert (spend.ref_kind, spend.ref_id) == ("order", str(order.pk))
    # R-ORD-16: the first line of its history.
    event = order.events.get()
    assert (event.old_status, event.new_status, event.cause) == ("", "pending", "customer")
    assert event.actor == user


def test_charge_rounds_half_up_to_the_ledger(service):  # R-ORD-2
    service.rate = D("0.33333")
    service.save()
    user = funded_customer(deposited="5")
    order = place(user, service, quantity=55)
    assert order.charge == D("0.01833")  # 0.33333 * 55 / 1000 = 0.01833315


def test_an_order_keeps_the_price_limits_and_flags_of_its_time(service):  # R-CAT-2
    user = funded_customer(deposited="10")
    order = place(user, service, quantity=1000)
    name = service.name
    service.rate, service.min_quantity, service.max_quantity = D("9.99"), 500, 600
    service.cancel, service.refill, service.refill_days, service.name = False, True, 30, "Renamed"
    service.save()
    order.refresh_from_db()
    assert (order.rate, order.charge) == (D("1.20000"), D("1.20000"))
    assert (order.min_quantity, order.max_quantity) == (50, 10000)
    assert (order.can_cancel, order.refill, order.service_name) == (True, False, name)


def test_package_is_one_package_at_its_flat_price():
    package = ServiceFactory(
        type=Service.Type.PACKAGE, rate=D("0.60"), min_quantity=1, max_quantity=1
    )
    user = funded_customer(deposited="2")
    order = place(user, package, quantity=None)
    assert (order.quantity, order.charge) == (1, D("0.60000"))
    other = place(user, package, link="https://www.instagram.com/other/", quantity=5000)
    assert (other.quantity, other.charge) == (1, D("0.60000"))


def test_custom_comments_count_their_non_empty_lines():
    comments = ServiceFactory(
        type=Service.Type.CUSTOM_COMMENTS, rate=D("9.00"), min_quantity=3, max_quantity=5
    )
    user = funded_customer(deposited="1")
    order = place(user, comments, quantity=999, comments="Nice!\n\n  Great shot \nWow\n")
    assert (order.quantity, order.charge) == (3, D("0.02700"))
    assert order.extra["comments"] == "Nice!\nGreat shot\nWow"
    with pytest.raises(QuantityRefused) as refused:
        place(user, comments, link="https://www.instagram.com/b/", comments="one\ntwo")
    assert refused.value.api_message == "Quantity less than minimal 3"
    with pytest.raises(IncorrectRequest) as missing:
        place(user, comments, link="https://www.instagram.com/c/", comments=" \n ")
    assert missing.value.api_message == "Incorrect request"
    assert missing.value.field == "comments"


def test_drip_feed_costs_runs_times_quantity(service):  # R-ORD-2
    service.dripfeed = True
    service.save()
    user = funded_customer(deposited="10")
    order = place(user, service, quantity=100, extra={"runs": "5", "interval": "30"})
    assert (order.quantity, order.charge) == (500, D("0.60000"))
    assert order.extra == {"runs": 5, "interval": 30, "quantity_per_run": 100}
    # The limits apply to each run.
    with pytest.raises(QuantityRefused):
        place(user, service, link="https://www.instagram.com/x/", quantity=40,
              extra={"runs": "10", "interval": "5"})  # fmt: skip


def test_drip_feed_refused_on_a_service_without_it(service):
    user = funded_customer(deposited="10")
    with pytest.raises(IncorrectRequest) as refused:
        place(user, service, quantity=100, extra={"runs": "5", "interval": "30"})
    assert refused.value.api_message == "Incorrect request"


def test_pass_through_fields_are_kept_and_others_dropped(service):
    user = funded_customer(deposited="10")
    order = place(user, service, extra={"country": "US", "key": "secret", "answer_number": 2})
    assert order.extra == {"country": "US", "answer_number": "2"}


@pytest.mark.parametrize(
    ("fields", "error", "api_message"),
    [
        ({"service_id": 999999}, ServiceRefused, "Incorrect service ID"),
        ({"service_id": "abc"}, ServiceRefused, "Incorrect service ID"),
        ({"link": "https://example.com/not-instagram"}, LinkRefused, "Incorrect link"),
        ({"link": ""}, LinkRefused, "Incorrect link"),
        ({"quantity": 49}, QuantityRefused, "Quantity less than minimal 50"),
        ({"quantity": 10001}, QuantityRefused, "Quantity more than maximum 10000"),
        ({"quantity": None}, IncorrectRequest, "Incorrect request"),
        ({"quantity": "ten"}, IncorrectRequest, "Incorrect request"),
        ({"quantity": 0}, IncorrectRequest, "Incorrect request"),
        ({"quantity": True}, IncorrectRequest, "Incorrect request"),
    ],
)
def test_refusals_carry_the_api_wording(service, fields, error, api_message):  # R-ORD-3
    user = funded_customer(deposited="100")
    arguments = {"service_id": service.pk, "link": LINK, "quantity": 1000, **fields}
    with pytest.raises(error) as refused:
        order_place(user=user, source="api", **arguments)
    assert isinstance(refused.value, OrderRefused)
    assert refused.value.api_message == api_message
    assert refused.value.message  # fit to show
    assert not Order.objects.exists()
    assert balance_get(user=user).deposited == D("100")


def test_a_disabled_service_is_refused(service):  # R-ORD-3
    user = funded_customer(deposited="10")
    service_set_enabled(service=service, enabled=False)
    with pytest.raises(ServiceRefused) as refused:
        place(user, service)
    assert refused.value.api_message == "Incorrect service ID"


def test_subscriptions_need_their_fields():
    # R-ORD-11: a subscription takes username, min, max (tests/orders/test_subscriptions.py).
    subscription = ServiceFactory(type=Service.Type.SUBSCRIPTIONS, link_rule="username")
    user = funded_customer(deposited="10")
    with pytest.raises(IncorrectRequest) as refused:
        place(user, subscription, link="someone")
    assert refused.value.field == "username"
    assert not Order.objects.exists()


def test_not_enough_funds_writes_nothing(service):  # R-ORD-3, R-BAL-5
    user = funded_customer(deposited="1.00", promotional="0.19")
    with pytest.raises(NotEnoughFunds) as refused:
        place(user, service, quantity=1000)  # 1.20 > 1.19
    assert refused.value.api_message == "Not enough funds on balance"
    assert "$1.20" in refused.value.message
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()
    assert Transaction.objects.filter(user=user, reason="spend").count() == 0
    assert balance_get(user=user).total == D("1.19")


def test_exactly_the_balance_is_enough(service):
    user = funded_customer(deposited="1.00", promotional="0.20")
    place(user, service, quantity=1000)
    assert balance_get(user=user).total == D("0")


def test_overlapping_active_order_refused_until_the_first_ends(service):  # R-ORD-12
    user = funded_customer(deposited="10")
    first = place(user, service, quantity=1000)
    with pytest.raises(OverlappingOrder) as refused:
        place(user, service, quantity=500, source="api")
    assert refused.value.api_message == (
        "You have active order with this link. Please wait until order being completed."
    )
    assert balance_get(user=user).deposited == D("8.80")  # the refused one charged nothing
    # Another service on the same link, or another customer, is no overlap.
    place(user, ServiceFactory(), quantity=100)
    place(funded_customer(deposited="5"), service, quantity=1000)
    # Once the first order is final, the link is free again.
    order_staff_cancel(order_id=first.pk, actor=StaffFactory(), reason="test")
    place(user, service, quantity=1000)


def test_the_database_refuses_an_overlap_and_a_reused_key(service):
    # The rules hold even for code that bypasses order_place.
    user = funded_customer(deposited="10")
    order = place(user, service, idempotency_key="k-1")
    copy = {f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields}
    copy.pop("id")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(**copy)
    copy.update(link="https://www.instagram.com/elsewhere/")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(**copy)  # same idempotency key


def test_idempotency_key_returns_the_same_order(service):
    user = funded_customer(deposited="10")
    first = place(user, service, idempotency_key="retry-123", source="api")
    again = place(user, service, idempotency_key="retry-123", source="api")
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert balance_get(user=user).deposited == D("8.80")
    # Keys are per account.
    other = funded_customer(deposited="10")
    assert place(other, service, idempotency_key="retry-123").pk != first.pk


def test_a_refused_request_can_be_retried_with_its_key(service):
    user = funded_customer(deposited="1")
    with pytest.raises(NotEnoughFunds):
        place(user, service, idempotency_key="k")
    fund(user, deposited="1")
    assert place(user, service, idempotency_key="k").charge == D("1.20")


@pytest.mark.parametrize(
    ("kind", "pattern", "link", "comments"),
    [
        (BlockedPattern.Kind.KEYWORD, "BadWord", "https://www.instagram.com/badword_page/", ""),
        (BlockedPattern.Kind.KEYWORD, "hate", "https://www.instagram.com/p/1/", "I hate it"),
        (BlockedPattern.Kind.DOMAIN, "instagr.am", "https://instagr.am/x/", ""),
        (BlockedPattern.Kind.REGEX, r"/p/\d+/$", "https://www.instagram.com/p/42/", ""),
    ],
)
def test_blocked_patterns_refuse_at_placement(kind, pattern, link, comments):  # R-AUP-1
    service = ServiceFactory(type=Service.Type.CUSTOM_COMMENTS, min_quantity=1, max_quantity=10)
    BlockedPattern.objects.create(kind=kind, pattern=pattern)
    BlockedPattern.objects.create(kind="keyword", pattern="disabled-word", enabled=False)
    user = funded_customer(deposited="10")
    with pytest.raises(LinkRefused) as refused:
        place(user, service, link=link, comments=comments or "fine")
    assert refused.value.api_message == "Incorrect link"
    assert "blocked" in refused.value.message
    assert place(user, service, link="https://www.instagram.com/disabled-word/", comments="ok")


def test_suspended_account_cannot_order(service):  # R-ACC-5
    user = funded_customer(deposited="10")
    user.status = user.Status.SUSPENDED
    user.save()
    with pytest.raises(OrderRefused):
        place(user, service)


def test_free_order_at_a_zero_custom_rate(service):
    user = funded_customer()
    custom_rate_set(user=user, service=service, rate=D("0"))
    order = place(user, service)
    assert (order.charge, order.paid_promotional, order.paid_deposited) == (D("0"), D("0"), D("0"))


def test_order_get_for_user_hides_other_customers_orders(service):
    owner = funded_customer(deposited="10")
    order = place(owner, service)
    assert order_get_for_user(user=owner, order_id=order.pk) == order
    with pytest.raises(Order.DoesNotExist):
        order_get_for_user(user=UserFactory(), order_id=order.pk)


def test_orders_for_user_by_ids_is_one_query_and_only_theirs(service):
    owner = funded_customer(deposited="10")
    mine = [place(owner, service, link=f"https://www.instagram.com/p/{n}/") for n in range(3)]
    theirs = place(funded_customer(deposited="10"), service)
    with CaptureQueriesContext(connection) as queries:
        found = orders_for_user_by_ids(user=owner, ids=[o.pk for o in mine] + [theirs.pk, 999999])
    assert len(queries) == 1
    assert set(found) == {o.pk for o in mine}
    assert found[mine[0].pk].link == mine[0].link


def test_the_overlap_and_key_constraints_are_named_on_sqlite_too():
    # R-ORD-12: `make run`'s SQLite names a violated unique index only in its message (the
    # index for one on expressions, the columns for one on columns); both order constraints
    # are told apart there too, so a clash answers as on Postgres (it was a 500).
    import sqlite3

    from django.db import IntegrityError

    from orders.services.placement import violated_constraint

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE orders_order (user_id int, link text, idempotency_key text)")
    db.execute("CREATE UNIQUE INDEX order_one_active_per_link ON orders_order "
               "(user_id, lower(link)) WHERE idempotency_key IS NULL")  # fmt: skip
    db.execute("CREATE UNIQUE INDEX order_idempotency_key_per_user ON orders_order "
               "(user_id, idempotency_key) WHERE idempotency_key IS NOT NULL")  # fmt: skip
    db.execute("INSERT INTO orders_order VALUES (1, 'x', NULL), (1, 'y', 'k')")

    def violated(*row) -> str:
        with pytest.raises(sqlite3.IntegrityError) as raised:
            db.execute("INSERT INTO orders_order VALUES (?, ?, ?)", row)
        error = IntegrityError(*raised.value.args)
        error.__cause__ = raised.value
        return violated_constraint(error)

    assert violated(1, "X", None) == "order_one_active_per_link"
    assert violated(1, "z", "k") == "order_idempotency_key_per_user"
