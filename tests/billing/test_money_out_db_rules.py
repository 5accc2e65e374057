"""The new customer accounts (Pending payout, Affiliate balance, Frozen funds) carry the same
database rules as the first three (R-BAL-3, R-BAL-5), proven by bypassing the services; and a
withdrawal's figure is checked by the database too (R-WDR-3)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import Account, Withdrawal
from billing.selectors import ledger_verify
from tests.factories import UserFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database rules under test are PostgreSQL's"
)

D = Decimal
EXTRA = ["payout_hold", "affiliate", "dormant"]


@pytest.mark.parametrize("kind", EXTRA)
def test_new_customer_accounts_never_go_negative(db, kind):
    account = Account.objects.create(user=UserFactory(), kind=kind, balance=D("0"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=D("-0.00001"))


@pytest.mark.parametrize("kind", EXTRA)
def test_new_customer_accounts_belong_to_a_customer(db, kind):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(user=None, kind=kind, balance=None)


@pytest.mark.ledger_broken
@pytest.mark.parametrize("kind", EXTRA)
def test_a_cached_balance_without_entries_is_caught_by_ledger_check(db, kind):
    Account.objects.create(user=UserFactory(), kind=kind, balance=D("5"))
    assert any("entries sum to 0" in problem for problem in ledger_verify().problems)


def test_withdrawal_figure_cannot_exceed_the_funds_less_fees(db):  # R-WDR-3
    with pytest.raises(IntegrityError), transaction.atomic():
        Withdrawal.objects.create(
            user=UserFactory(),
            status="pending",
            deposited=D("100"),
            fee=D("5"),
            deposit_fees=D("1"),
            amount=D("94.01"),
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Withdrawal.objects.create(
            user=UserFactory(), status="pending", deposited=D("100"), fee_percent=D("10.01"),
            amount=D("1"),
        )  # fmt: skip
