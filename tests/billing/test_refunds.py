"""Refunds decided by staff (R-WDR-1, R-WDR-2, R-WDR-6, R-PRO-2) against localstripe."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.exceptions import WithdrawalRefused
from billing.models import Withdrawal
from billing.selectors import balance_get, payout_figure
from billing.services import funds_spend, promo_credit_grant
from billing.services.withdrawals import (
    refund_confirm,
    refund_credit,
    refund_offer,
    withdrawal_approve,
)
from tests.billing.money_out import card_deposit
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import OrderFactory

D = Decimal
pytestmark = pytest.mark.usefixtures("stripe_settings")


@pytest.fixture
def refund_customer(db, localstripe):
    """100.00 paid by card (Stripe kept 3.20), 10.00 promotional granted, an order of 20.00
    paid 10.00 promotional + 10.00 deposited, then 4.00 more promotional granted."""
    user = UserFactory()
    card_deposit(user, "100.00", localstripe, fee="3.20")
    promo_credit_grant(user=user, amount=D("10.00"), memo="bonus")
    funds_spend(user=user, amount=D("20.00"), memo="order", ref_kind="order", ref_id=1)
    promo_credit_grant(user=user, amount=D("4.00"), memo="goodwill")
    return user


def test_refund_figure_to_the_cent(refund_customer):  # R-WDR-2
    figure = payout_figure(user=refund_customer, kind="refund")
    # 90.00 not yet spent - 3.20 deposit fee - 14.00 promotional ever granted = 72.80
    assert (figure.deposited, figure.deposit_fees, figure.promo_deducted) == (
        D("90.00"),
        D("3.20"),
        D("14.00"),
    )
    assert (figure.fee, figure.amount) == (0, D("72.80"))


def test_refund_offered_by_staff_confirmed_by_customer_then_paid(
    refund_customer, client, localstripe, assert_ledger_ok
):  # R-WDR-1, R-WDR-2
    user, finance = refund_customer, StaffFactory()
    offer = refund_offer(user=user, actor=finance, reference="ticket #12")
    assert (offer.status, offer.amount) == (Withdrawal.Status.AWAITING_CONFIRMATION, D("72.80"))
    assert balance_get(user=user).held == 0  # nothing moves before the customer confirms

    client.force_login(user)
    page = client.get(reverse("billing:withdrawals")).content.decode()
    for figure in ("$72.80", "$14.00", "$3.20"):  # the customer sees the formula
        assert figure in page
    response = client.post(reverse("billing:refund_confirm", args=[offer.pk]))
    assert response.status_code == 302
    offer.refresh_from_db()
    assert offer.status == Withdrawal.Status.PENDING
    balance = balance_get(user=user)
    # 72.80 + 3.20 held; 14.00 deducted; the 4.00 promotional left is never refunded (R-PRO-2).
    assert (balance.deposited, balance.held, balance.promotional) == (D("0"), D("76.00"), D("4"))

    paid = withdrawal_approve(withdrawal_id=offer.pk, actor=finance)
    assert (paid.status, paid.paid_amount) == (Withdrawal.Status.PAID, D("72.80"))
    assert balance_get(user=user).held == 0
    # A second refund deducts nothing already deducted.
    assert payout_figure(user=user, kind="refund").promo_deducted == 0
    assert_ledger_ok()


def test_changed_balance_makes_the_customer_confirm_again(refund_customer):  # R-WDR-2
    offer = refund_offer(user=refund_customer, actor=StaffFactory(), reference="ticket #3")
    # 4.00 promotional + 10.00 deposited: 80.00 - 3.20 - 14.00 = 62.80
    funds_spend(user=refund_customer, amount=D("14.00"), memo="o", ref_kind="order", ref_id=2)
    with pytest.raises(WithdrawalRefused, match=r"now \$62.80"):
        refund_confirm(user=refund_customer, withdrawal_id=offer.pk)
    offer.refresh_from_db()
    assert (offer.status, offer.amount) == (Withdrawal.Status.AWAITING_CONFIRMATION, D("62.80"))
    assert refund_confirm(user=refund_customer, withdrawal_id=offer.pk).status == "pending"


def test_default_refund_is_a_credit_to_deposited_funds(db, assert_ledger_ok):  # R-WDR-1
    user = UserFactory()
    txn = refund_credit(user=user, amount=D("7.50"), reason="slow delivery", actor=StaffFactory())
    assert txn.reason == "refund"
    assert balance_get(user=user).deposited == D("7.50")
    assert_ledger_ok()


def test_no_refund_after_the_claim_window(db, settings):  # R-WDR-6 (R-ORD-14)
    settings.SUPPORT_CLAIM_WINDOW_DAYS = 3
    user, staff = UserFactory(), StaffFactory()
    late = OrderFactory(user=user, status="completed", completed_at=timezone.now() - timedelta(4))
    with pytest.raises(WithdrawalRefused, match="claim window"):
        refund_credit(user=user, amount=D("1"), reason="late", actor=staff, order_id=late.pk)
    with pytest.raises(WithdrawalRefused, match="claim window"):
        refund_offer(user=user, actor=staff, reference="t", order_id=late.pk)
    recent = OrderFactory(user=user, status="completed", completed_at=timezone.now() - timedelta(2))
    refund_credit(user=user, amount=D("1"), reason="short", actor=staff, order_id=recent.pk)
    assert balance_get(user=user).deposited == D("1")


def test_someone_elses_refund_is_a_404(refund_customer, client):
    offer = refund_offer(user=refund_customer, actor=StaffFactory(), reference="ticket #4")
    client.force_login(UserFactory())
    assert client.post(reverse("billing:refund_confirm", args=[offer.pk])).status_code == 404
    assert client.post(reverse("billing:withdrawal_cancel", args=[offer.pk])).status_code == 404


def test_no_refund_offered_or_confirmed_while_the_account_is_held(
    refund_customer, client
):  # R-AUP-2, R-WDR-5
    from legal.services import account_hold, hold_release

    user, finance = refund_customer, StaffFactory()
    offer = refund_offer(user=user, actor=finance, reference="ticket #7")
    hold = account_hold(user=user, reason="Under investigation", actor=finance)
    with pytest.raises(WithdrawalRefused, match="on hold under investigation"):
        refund_offer(user=user, actor=finance, reference="ticket #8")
    client.force_login(user)
    response = client.post(reverse("billing:refund_confirm", args=[offer.pk]), follow=True)
    assert "withdrawals and refunds wait until staff finish it" in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == Withdrawal.Status.AWAITING_CONFIRMATION
    assert balance_get(user=user).held == 0

    hold_release(hold=hold, note="Cleared", actor=finance)
    assert refund_confirm(user=user, withdrawal_id=offer.pk).status == Withdrawal.Status.PENDING
