from decimal import Decimal

import pytest

from billing.exceptions import InsufficientFunds, LedgerError
from billing.ledger import Split, split_return
from billing.models import Account, Entry, Transaction
from billing.selectors import balance_get, spend_unreturned
from billing.services import (
    deposit_credit,
    funds_return,
    funds_spend,
    promo_credit_grant,
    staff_adjust,
)
from tests.billing.factories import fund
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

D = Decimal


def entries_of(txn) -> dict[str, Decimal]:
    return {e.account.kind: e.amount for e in txn.entries.select_related("account")}


def test_deposit_credits_deposited_funds_and_records_the_fee(customer, assert_ledger_ok):
    # R-BAL-2, R-PAY-3: the customer gets the whole amount; the fee is the panel's expense.
    txn = deposit_credit(user=customer, amount=D("50.00"), fee=D("1.75"), memo="card")

    assert balance_get(user=customer).deposited == D("50.00")
    assert entries_of(txn) == {
        "processor_clearing": D("-48.25"),
        "processor_fees": D("-1.75"),
        "deposited": D("50.00"),
    }
    assert txn.reason == Transaction.Reason.DEPOSIT
    assert_ledger_ok()


def test_deposit_pays_off_what_is_owed_first(customer, assert_ledger_ok):
    # R-BAL-6: a negative balance is recovered from the next deposit before it is spendable.
    staff = StaffFactory()
    staff_adjust(
        user=customer, source="deposited", amount=D("-8.00"), reason="chargeback", actor=staff
    )
    assert balance_get(user=customer).owed == D("8.00")
    assert balance_get(user=customer).total == D("-8.00")

    txn = deposit_credit(user=customer, amount=D("5.00"), manual=True, memo="bank transfer")
    balance = balance_get(user=customer)
    assert (balance.owed, balance.deposited) == (D("3.00"), D("0.00"))
    assert entries_of(txn) == {"bank": D("-5.00"), "owed": D("5.00")}

    deposit_credit(user=customer, amount=D("10.00"), manual=True, memo="bank transfer")
    balance = balance_get(user=customer)
    assert (balance.owed, balance.deposited) == (D("0.00"), D("7.00"))
    assert_ledger_ok()


def test_spend_takes_promotional_credit_first(customer, assert_ledger_ok):
    # R-BAL-4: Promotional Credit first, then Deposited Funds; the split is returned.
    fund(customer, deposited="10.00", promotional="3.00")

    spend = funds_spend(user=customer, amount=D("4.50"), memo="order", ref_kind="order", ref_id=1)

    assert spend.split == Split(promotional=D("3.00"), deposited=D("1.50"))
    assert entries_of(spend.transaction) == {
        "promotional": D("-3.00"),
        "deposited": D("-1.50"),
        "sales": D("4.50"),
    }
    balance = balance_get(user=customer)
    assert (balance.promotional, balance.deposited) == (D("0.00"), D("8.50"))
    assert_ledger_ok()


def test_spend_within_promotional_credit_leaves_deposits_alone(customer):
    # R-BAL-4
    fund(customer, deposited="10.00", promotional="3.00")
    spend = funds_spend(user=customer, amount=D("0.27819"), memo="o", ref_kind="order", ref_id=2)
    assert spend.split == Split(promotional=D("0.27819"), deposited=D("0"))
    assert "deposited" not in entries_of(spend.transaction)


def test_spend_order_is_a_setting(customer, settings):
    # R-BAL-4 "(setting)": deposited first when the operator says so.
    settings.BILLING_SPEND_PROMOTIONAL_FIRST = False
    fund(customer, deposited="2.00", promotional="3.00")
    spend = funds_spend(user=customer, amount=D("4.00"), memo="o", ref_kind="order", ref_id=3)
    assert spend.split == Split(promotional=D("2.00"), deposited=D("2.00"))


def test_insufficient_funds_raises_and_changes_nothing(customer):
    # R-BAL-5, R-ORD-3
    fund(customer, deposited="1.00", promotional="0.50")
    before = (Transaction.objects.count(), Entry.objects.count(), balance_get(user=customer))

    with pytest.raises(InsufficientFunds) as exc:
        funds_spend(user=customer, amount=D("1.50001"), memo="o", ref_kind="order", ref_id=4)

    assert exc.value.required == D("1.50001")
    assert exc.value.available == D("1.50")
    assert exc.value.message == "Not enough funds on balance."
    after = (Transaction.objects.count(), Entry.objects.count(), balance_get(user=customer))
    assert after == before


def test_exact_balance_can_be_spent_to_zero(customer, assert_ledger_ok):
    fund(customer, deposited="1.00", promotional="0.50")
    funds_spend(user=customer, amount=D("1.50"), memo="o", ref_kind="order", ref_id=5)
    assert balance_get(user=customer).total == D("0")
    assert_ledger_ok()


def test_spend_refused_while_money_is_owed(customer):
    # R-BAL-5: spending never deepens a negative balance.
    fund(customer, promotional="5.00")
    staff_adjust(
        user=customer, source="deposited", amount=D("-1.00"), reason="clawback", actor=None
    )
    with pytest.raises(InsufficientFunds):
        funds_spend(user=customer, amount=D("1.00"), memo="o", ref_kind="order", ref_id=6)


def test_customer_without_accounts_has_nothing_to_spend(customer):
    with pytest.raises(InsufficientFunds):
        funds_spend(user=customer, amount=D("0.01"), memo="o", ref_kind="order", ref_id=7)
    assert balance_get(user=customer).total == D("0")


def test_partial_returns_go_back_in_proportion(customer, assert_ledger_ok):
    # R-ORD-7: the undelivered part goes back to the sources it was paid from.
    fund(customer, deposited="10.00", promotional="1.00")
    spend = funds_spend(user=customer, amount=D("4.00"), memo="o", ref_kind="order", ref_id=8)
    assert spend.split == Split(promotional=D("1.00"), deposited=D("3.00"))

    back = split_return(amount=D("1.00"), paid=spend.split, returned=Split())
    assert back == Split(promotional=D("0.25"), deposited=D("0.75"))
    funds_return(user=customer, split=back, memo="partial", ref_kind="order", ref_id=8)

    balance = balance_get(user=customer)
    assert (balance.promotional, balance.deposited) == (D("0.25"), D("7.75"))
    assert spend_unreturned(user=customer, ref_kind="order", ref_id=8) == Split(
        promotional=D("0.75"), deposited=D("2.25")
    )
    assert_ledger_ok()


def test_cancel_returns_the_whole_charge_to_the_same_sources(customer, assert_ledger_ok):
    # R-ORD-8: never turns Promotional Credit into Deposited Funds.
    fund(customer, deposited="10.00", promotional="2.00")
    spend = funds_spend(user=customer, amount=D("5.00"), memo="o", ref_kind="order", ref_id=9)
    funds_return(user=customer, split=spend.split, memo="canceled", ref_kind="order", ref_id=9)

    balance = balance_get(user=customer)
    assert (balance.promotional, balance.deposited) == (D("2.00"), D("10.00"))
    assert_ledger_ok()


def test_rounding_over_many_partial_returns_creates_and_loses_nothing(customer, assert_ledger_ok):
    # R-ORD-7/8 with thirds that do not divide: each return rounds, the sum stays exact.
    fund(customer, deposited="1.00000", promotional="0.00001")
    spend = funds_spend(user=customer, amount=D("0.27819"), memo="o", ref_kind="order", ref_id=10)
    paid = spend.split
    assert paid == Split(promotional=D("0.00001"), deposited=D("0.27818"))
    returned = Split()
    for part in (D("0.09273"), D("0.09273"), D("0.00001"), D("0.09272")):
        back = split_return(amount=part, paid=paid, returned=returned)
        assert back.total == part
        funds_return(user=customer, split=back, memo="partial", ref_kind="order", ref_id=10)
        returned = returned + back
    assert returned == paid
    balance = balance_get(user=customer)
    assert (balance.promotional, balance.deposited) == (D("0.00001"), D("1.00000"))
    assert_ledger_ok()


def test_a_return_cannot_exceed_what_was_spent(customer):
    fund(customer, deposited="5.00", promotional="1.00")
    spend = funds_spend(user=customer, amount=D("2.00"), memo="o", ref_kind="order", ref_id=11)
    with pytest.raises(LedgerError):
        funds_return(
            user=customer,
            split=Split(promotional=D("1.00"), deposited=D("1.00001")),
            memo="too much",
            ref_kind="order",
            ref_id=11,
        )
    # Never more Promotional Credit than was spent of it either (R-ORD-8).
    with pytest.raises(LedgerError):
        funds_return(
            user=customer,
            split=Split(promotional=D("1.50"), deposited=D("0.50")),
            memo="shifted",
            ref_kind="order",
            ref_id=11,
        )
    funds_return(user=customer, split=spend.split, memo="cancel", ref_kind="order", ref_id=11)
    with pytest.raises(LedgerError):
        funds_return(user=customer, split=spend.split, memo="twice", ref_kind="order", ref_id=11)


def test_staff_adjustment_beyond_the_balance_leaves_it_owed(customer, assert_ledger_ok):
    # R-BAL-5: a correction may make the balance negative, through Owed only.
    staff = StaffFactory()
    fund(customer, deposited="3.00")
    txn = staff_adjust(
        user=customer, source="deposited", amount=D("-5.00"), reason="duplicate credit", actor=staff
    )
    balance = balance_get(user=customer)
    assert (balance.deposited, balance.owed, balance.total) == (D("0"), D("2.00"), D("-2.00"))
    assert txn.actor == staff
    assert "duplicate credit" in txn.memo
    assert entries_of(txn) == {
        "deposited": D("-3.00"),
        "owed": D("-2.00"),
        "adjustments": D("5.00"),
    }
    assert_ledger_ok()


def test_staff_adjustment_needs_a_reason(customer):
    with pytest.raises(ValueError, match="reason"):
        staff_adjust(user=customer, source="promotional", amount=D("1"), reason=" ", actor=None)


def test_idempotency_key_posts_once(customer):
    for _ in range(3):
        deposit_credit(
            user=customer, amount=D("5"), manual=True, memo="once", idempotency_key="bank:42"
        )
    assert balance_get(user=customer).deposited == D("5")

    fund(customer, promotional="1")
    first = funds_spend(
        user=customer, amount=D("2"), memo="o", ref_kind="order", ref_id=12, idempotency_key="k"
    )
    again = funds_spend(
        user=customer, amount=D("2"), memo="o", ref_kind="order", ref_id=12, idempotency_key="k"
    )
    assert again.transaction == first.transaction
    assert again.split == first.split == Split(promotional=D("1"), deposited=D("1"))
    assert balance_get(user=customer).total == D("4")


def test_money_must_be_exact_decimal(customer):
    # R-BAL-1
    with pytest.raises(TypeError):
        promo_credit_grant(user=customer, amount=1.5, memo="float")
    with pytest.raises(ValueError, match="precision"):
        promo_credit_grant(user=customer, amount=D("0.000001"), memo="too fine")
    with pytest.raises(ValueError, match="positive"):
        funds_spend(user=customer, amount=D("0"), memo="o", ref_kind="order", ref_id=13)


def test_customer_accounts_are_created_once(customer):
    fund(customer, deposited="1", promotional="1")
    funds_spend(user=customer, amount=D("1.5"), memo="o", ref_kind="order", ref_id=14)
    kinds = sorted(Account.objects.filter(user=customer).values_list("kind", flat=True))
    assert kinds == ["deposited", "owed", "promotional"]
