"""Mass Order's batch: each line judged on its own, the accepted ones written together, and
the ledger exactly as if each had been placed alone (R-ORD-1, R-BAL-4, R-ORD-7, R-ORD-12)."""

from decimal import Decimal

import pytest

from billing.models import Transaction
from billing.selectors import balance_get
from billing.services import staff_adjust
from catalog.services import custom_rate_set
from orders.models import Order
from orders.services import mass as mass_module
from orders.services import mass_lines_parse, order_staff_partial, orders_place_mass
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def service():
    return ServiceFactory(rate=D("1.00"), min_quantity=100, max_quantity=10000, cancel=True)


def _lines(service, *quantities, prefix="m"):
    return "\n".join(
        f"{service.pk} | https://www.instagram.com/{prefix}{n}/ | {quantity}"
        for n, quantity in enumerate(quantities)
    )


def test_lines_are_read_with_their_numbers():
    lines = mass_lines_parse("1|https://a.example/x|100\n\n 2 | https://b.example/y \nx|y|z\n|a|1")
    assert [(line.number, line.service_id, line.quantity, line.error[:5]) for line in lines] == [
        (1, 1, "100", ""), (3, 2, None, ""), (4, None, None, "The s"), (5, None, None, "Write"),
    ]  # fmt: skip


def test_each_line_is_paid_as_if_placed_alone(service, assert_ledger_ok):  # R-BAL-4
    user = funded_customer(deposited="1.00", promotional="0.50")
    # 0.30, 0.30, 0.60, 0.60 (refused: 0.30 left), 0.30
    results = orders_place_mass(user=user, text=_lines(service, 300, 300, 600, 600, 300))
    assert [result.ok for result in results] == [True, True, True, False, True]
    assert "does not cover this order's charge of $0.60" in results[3].error
    splits = [
        (o.paid_promotional, o.paid_deposited)
        for o in Order.objects.filter(user=user).order_by("pk")
    ]
    assert splits == [
        (D("0.30"), D("0")), (D("0.20"), D("0.10")), (D("0"), D("0.60")), (D("0"), D("0.30"))
    ]  # fmt: skip
    assert [r.order.paid_deposited for r in results if r.ok] == [s[1] for s in splits]
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("0"), D("0"))
    spends = Transaction.objects.filter(user=user, reason="spend").order_by("pk")
    assert [t.ref_id for t in spends] == [str(r.order.pk) for r in results if r.ok]
    assert all(o.events.get().note == "Placed through Mass Order." for o in Order.objects.all())
    assert_ledger_ok()


def test_a_partial_return_on_a_mass_order_goes_back_to_both_sources(service, assert_ledger_ok):
    user = funded_customer(deposited="1.00", promotional="0.50")
    orders_place_mass(user=user, text=_lines(service, 300, 400))  # 2nd: 0.20 promo + 0.20 dep
    mixed = Order.objects.filter(user=user).order_by("pk").last()
    order_staff_partial(order_id=mixed.pk, remains=100, actor=StaffFactory(), reason="short")
    balance = balance_get(user=user)
    assert (balance.promotional, balance.deposited) == (D("0.05"), D("0.85"))  # 0.10 back, 1:1
    assert_ledger_ok()


def test_nothing_is_spent_while_money_is_owed(service):  # R-BAL-5
    user = funded_customer(deposited="5")
    staff_adjust(
        user=user, source="deposited", amount=D("-6"), reason="chargeback", actor=StaffFactory()
    )
    results = orders_place_mass(user=user, text=_lines(service, 100, 200))
    assert [result.ok for result in results] == [False, False]
    assert not Order.objects.exists()


def test_free_lines_need_no_spend(service):
    user = funded_customer()
    custom_rate_set(user=user, service=service, rate=D("0"))
    results = orders_place_mass(user=user, text=_lines(service, 100, 200))
    assert all(result.ok for result in results)
    assert set(Order.objects.values_list("charge", "paid_promotional", "paid_deposited")) == {
        (D("0"), D("0"), D("0"))
    }


def test_overlaps_with_active_orders_and_earlier_lines_are_refused(service):  # R-ORD-12
    user = funded_customer(deposited="10")
    place(user, service, link="https://www.instagram.com/m0/", quantity=100)
    text = _lines(service, 100, 100) + f"\n{service.pk} | https://www.instagram.com/m1/ | 500"
    results = orders_place_mass(user=user, text=text)
    assert [result.ok for result in results] == [False, True, False]
    assert all("already have an active order" in r.error for r in results if not r.ok)


def test_a_link_taken_meanwhile_falls_back_to_one_by_one(service, monkeypatch):  # R-ORD-12
    user = funded_customer(deposited="10")
    prepare = mass_module._prepare

    def prepare_then_a_concurrent_order_lands(context, lines):
        results = prepare(context, lines)
        place(user, service, link="https://www.instagram.com/m1/", quantity=100, source="api")
        return results

    monkeypatch.setattr(mass_module, "_prepare", prepare_then_a_concurrent_order_lands)
    results = orders_place_mass(user=user, text=_lines(service, 100, 200, 300))
    assert [result.ok for result in results] == [True, False, True]
    assert "already have an active order" in results[1].error
    assert Order.objects.filter(source="mass").count() == 2
    assert balance_get(user=user).deposited == D("10") - D("0.10") - D("0.10") - D("0.30")
