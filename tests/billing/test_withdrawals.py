"""Withdrawals to the card (R-WDR-3..5, R-PRO-2, R-PAY-3) against localstripe; the ledger is
proven after every scenario."""

from decimal import Decimal

import pytest
import requests

from billing.exceptions import InsufficientFunds, WithdrawalRefused
from billing.models import Account, Withdrawal, WithdrawalRefund
from billing.selectors import balance_get, payout_figure, payout_figure_compute
from billing.services import (
    Charge,
    deposit_credit,
    funds_spend,
    funds_spend_many,
    promo_credit_grant,
)
from billing.services.withdrawals import (
    customer_verification_set,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_reject,
    withdrawal_request,
    withdrawal_verify,
)
from tests.billing.money_out import card_deposit, system_balance
from tests.factories import StaffFactory, UserFactory

D = Decimal
Kind = Account.Kind
pytestmark = pytest.mark.usefixtures("stripe_settings")


def _balances(user):
    b = balance_get(user=user)
    return b.deposited, b.promotional, b.held


def test_figure_is_deposited_less_fee_less_deposit_fees_to_the_cent(db, localstripe,
                                                                    assert_ledger_ok):  # fmt: skip
    # R-WDR-3, R-PAY-3, R-PRO-2: 100.00 paid by card (Stripe kept 3.20), 10.00 promotional.
    user = UserFactory()
    card_deposit(user, "100.00", localstripe, fee="3.20")
    promo_credit_grant(user=user, amount=D("10.00"), memo="bonus")
    figure = payout_figure(user=user)
    assert (figure.deposited, figure.fee_percent, figure.fee) == (D("100"), D("5"), D("5.00"))
    assert (figure.deposit_fees, figure.amount, figure.leftover) == (D("3.20"), D("91.80"), 0)

    withdrawal = withdrawal_request(user=user, expected_amount=D("91.80"))
    assert withdrawal.status == Withdrawal.Status.PENDING
    assert (withdrawal.amount, withdrawal.fee, withdrawal.deposit_fees) == (
        D("91.80"),
        D("5.00"),
        D("3.20"),
    )
    # Held at once: Deposited Funds are empty, the Promotional Credit is never withdrawn.
    assert _balances(user) == (D("0"), D("10.00"), D("95.00"))
    assert system_balance(Kind.WITHDRAWAL_FEES) == D("5.00")
    assert_ledger_ok()


def test_fee_setting_is_capped_at_ten_percent(db, settings, localstripe):  # R-WDR-3
    settings.WITHDRAWAL_FEE_PERCENT = D("25")
    user = UserFactory()
    card_deposit(user, "40.00", localstripe)
    figure = payout_figure(user=user)
    assert (figure.fee_percent, figure.fee, figure.amount) == (D("10"), D("4.00"), D("36.00"))


def test_figure_arithmetic_rounds_down_to_whole_cents_and_never_below_zero():  # R-WDR-3
    figure = payout_figure_compute(
        kind="withdrawal",
        deposited=D("33.33333"),
        fee_percent=D("5"),
        deposit_fees=D("0.50"),
        promo_granted=D("0"),
        refundable=D("100"),
    )
    assert (figure.fee, figure.amount, figure.leftover) == (D("1.66667"), D("31.16"), D("0.00666"))
    assert figure.fee + figure.deposit_fees + figure.amount + figure.leftover == D("33.33333")
    nothing = payout_figure_compute(
        kind="withdrawal",
        deposited=D("3.00"),
        fee_percent=D("5"),
        deposit_fees=D("3.20"),
        promo_granted=D("0"),
        refundable=D("100"),
    )
    assert (nothing.amount, nothing.fee, nothing.deposit_fees) == (0, 0, 0)


def test_fee_is_taken_only_on_what_goes_back_to_the_card():  # R-WDR-3
    # $90 by bank transfer and $10 by card: only the $10 can go back, so the 10 % fee is
    # that share of the part that leaves, never of the whole balance.
    figure = payout_figure_compute(
        kind="withdrawal",
        deposited=D("100"),
        fee_percent=D("10"),
        deposit_fees=D("0"),
        promo_granted=D("0"),
        refundable=D("10"),
    )
    assert (figure.amount, figure.fee) == (D("10.00"), D("1.11111"))
    assert figure.fee / figure.taken <= D("0.10")
    assert figure.leftover == D("88.88889")
    assert figure.taken + figure.leftover == D("100")


def test_refund_capped_by_the_card_deducts_no_promotional_credit():  # R-WDR-2
    # $10 can go back to the card; $20 of Promotional Credit ever granted. The $88 that stays
    # in the balance covers the credit, so none of it is taken from Deposited Funds now.
    figure = payout_figure_compute(
        kind="refund",
        deposited=D("100"),
        fee_percent=D("10"),
        deposit_fees=D("2"),
        promo_granted=D("20"),
        refundable=D("10"),
    )
    assert (figure.amount, figure.fee, figure.deposit_fees, figure.promo_deducted) == (
        D("10.00"), D("0"), D("2"), D("0"),
    )  # fmt: skip
    assert figure.leftover == D("88")
    uncapped = payout_figure_compute(
        kind="refund",
        deposited=D("100"),
        fee_percent=D("10"),
        deposit_fees=D("2"),
        promo_granted=D("20"),
        refundable=D("100"),
    )
    assert (uncapped.amount, uncapped.promo_deducted) == (D("78.00"), D("20"))


def test_nothing_to_withdraw_changes_nothing(db, localstripe, assert_ledger_ok):  # R-WDR-3
    user = UserFactory()
    deposit_credit(user=user, amount=D("50"), manual=True, memo="bank transfer")
    promo_credit_grant(user=user, amount=D("10"), memo="bonus")
    # A bank transfer has no card to go back to; Promotional Credit never goes (R-PRO-2).
    assert payout_figure(user=user).amount == 0
    with pytest.raises(WithdrawalRefused, match="nothing to withdraw"):
        withdrawal_request(user=user)
    assert _balances(user) == (D("50"), D("10"), D("0"))
    assert not Withdrawal.objects.exists()
    assert_ledger_ok()


def test_a_changed_figure_is_refused(db, localstripe):  # R-WDR-3: the customer's figure
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    with pytest.raises(WithdrawalRefused, match=r"changed to \$19.00"):
        withdrawal_request(user=user, expected_amount=D("20.00"))
    assert _balances(user) == (D("20.00"), D("0"), D("0"))


def test_order_paid_from_deposited_funds_cancels_pending_withdrawal_fee_kept(
    db, localstripe, assert_ledger_ok
):  # R-WDR-4
    user = UserFactory()
    card_deposit(user, "100.00", localstripe)
    withdrawal = withdrawal_request(user=user)
    assert _balances(user) == (D("0"), D("0"), D("95.00"))
    # Paid wholly from Promotional Credit: the withdrawal stays.
    promo_credit_grant(user=user, amount=D("3.00"), memo="bonus")
    funds_spend(user=user, amount=D("2.00"), memo="order", ref_kind="order", ref_id=1)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PENDING
    # Paid partly from Deposited Funds: canceled, the hold returns, the fee is kept.
    spend = funds_spend(user=user, amount=D("11.00"), memo="order", ref_kind="order", ref_id=2)
    assert (spend.split.promotional, spend.split.deposited) == (D("1.00"), D("10.00"))
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    assert withdrawal.events.last().cause == "order"
    assert _balances(user) == (D("85.00"), D("0"), D("0"))
    assert system_balance(Kind.WITHDRAWAL_FEES) == D("5.00")
    assert_ledger_ok()


def test_mass_order_spend_also_cancels_pending_withdrawal(db, localstripe, assert_ledger_ok):
    # R-WDR-4 on the bulk spend path (Mass Order).
    user = UserFactory()
    card_deposit(user, "10.00", localstripe)
    withdrawal = withdrawal_request(user=user)
    spends = funds_spend_many(
        user=user, charges=[Charge(amount=D("1.50"), memo="line", ref_id=7)], ref_kind="order"
    )
    assert spends[0].split.deposited == D("1.50")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    assert _balances(user) == (D("8.00"), D("0"), D("0"))  # 10 - 0.50 fee - 1.50
    assert_ledger_ok()


def test_spends_the_balance_cannot_cover_leave_the_withdrawal_pending(
    db, localstripe, assert_ledger_ok
):  # R-WDR-4: only an order actually paid from Deposited Funds cancels it
    user = UserFactory()
    card_deposit(user, "10.00", localstripe)
    withdrawal = withdrawal_request(user=user)  # 9.50 held, 0.50 fee
    spends = funds_spend_many(
        user=user, charges=[Charge(amount=D("500"), memo="line", ref_id=8)], ref_kind="order"
    )
    assert spends == [None]
    with pytest.raises(InsufficientFunds):
        funds_spend(user=user, amount=D("20"), memo="order", ref_kind="order", ref_id=9)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PENDING
    assert _balances(user) == (D("0"), D("0"), D("9.50"))
    # A spend the released hold can cover still cancels it and is paid from it.
    spend = funds_spend(user=user, amount=D("9.00"), memo="order", ref_kind="order", ref_id=10)
    assert spend.split.deposited == D("9.00")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    assert _balances(user) == (D("0.50"), D("0"), D("0"))
    assert_ledger_ok()


def _refunds(localstripe, intent):
    response = requests.get(
        f"{localstripe}/v1/refunds",
        params={"payment_intent": intent},
        auth=("sk_test_panel", ""),
        timeout=10,
    )
    return sorted(r["amount"] for r in response.json()["data"])


def test_approval_refunds_original_payments_oldest_first(db, localstripe, assert_ledger_ok):
    # R-WDR-3: back through Stripe Refunds on the original PaymentIntents, split as needed.
    user = UserFactory()
    first = card_deposit(user, "30.00", localstripe, fee="1.17")
    second = card_deposit(user, "50.00", localstripe, fee="1.75")
    withdrawal = withdrawal_request(user=user)
    # 80.00 - 4.00 fee - 2.92 deposit fees = 73.08
    assert withdrawal.amount == D("73.08")
    finance = StaffFactory()
    withdrawal = withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    assert withdrawal.status == Withdrawal.Status.PAID
    assert withdrawal.paid_amount == D("73.08")
    rows = list(WithdrawalRefund.objects.filter(withdrawal=withdrawal).order_by("id"))
    assert [(r.deposit_id, r.amount, r.succeeded) for r in rows] == [
        (first.pk, D("30.00"), True),
        (second.pk, D("43.08"), True),
    ]
    assert _refunds(localstripe, first.stripe_payment_intent) == [3000]
    assert _refunds(localstripe, second.stripe_payment_intent) == [4308]
    assert _balances(user) == (D("0"), D("0"), D("0"))
    # The deposit fees withheld make good the processor's fees.
    assert system_balance(Kind.PROCESSOR_FEES) == D("0")
    # Approving again pays nothing twice.
    with pytest.raises(WithdrawalRefused):
        withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    assert _refunds(localstripe, second.stripe_payment_intent) == [4308]
    assert_ledger_ok()


def test_failed_refund_returns_the_hold(db, localstripe, assert_ledger_ok):  # R-WDR-3
    user = UserFactory()
    first = card_deposit(user, "30.00", localstripe)
    second = card_deposit(user, "50.00", localstripe)
    withdrawal = withdrawal_request(user=user)  # 76.00
    # Stripe no longer knows the second payment: its refund fails.
    type(second).objects.filter(pk=second.pk).update(stripe_payment_intent="pi_unknown_to_stripe")
    withdrawal = withdrawal_approve(withdrawal_id=withdrawal.pk, actor=StaffFactory())
    assert withdrawal.status == Withdrawal.Status.FAILED
    assert withdrawal.paid_amount == D("30.00")
    assert withdrawal.failure_message
    assert _refunds(localstripe, first.stripe_payment_intent) == [3000]
    # 46.00 returns to Deposited Funds; the 4.00 fee stays with the panel.
    assert _balances(user) == (D("46.00"), D("0"), D("0"))
    assert system_balance(Kind.WITHDRAWAL_FEES) == D("4.00")
    assert_ledger_ok()


def test_verification_required_before_anything_is_paid(db, localstripe, assert_ledger_ok):
    # R-WDR-5: a flag on the account; nothing is paid until staff give the verification.
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    finance = StaffFactory()
    customer_verification_set(user=user, required=True, actor=finance, note="ID check")
    withdrawal = withdrawal_request(user=user)
    assert withdrawal.requires_verification
    with pytest.raises(WithdrawalRefused, match="Verification is required"):
        withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    assert _refunds(localstripe, withdrawal.user.deposits.first().stripe_payment_intent) == []
    withdrawal_verify(withdrawal_id=withdrawal.pk, actor=finance)
    assert withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance).status == "paid"
    assert_ledger_ok()


def test_large_withdrawal_needs_verification(db, settings, localstripe):  # R-WDR-5
    settings.WITHDRAWAL_VERIFY_ABOVE = D("50")
    user = UserFactory()
    card_deposit(user, "60.00", localstripe)
    assert withdrawal_request(user=user).requires_verification  # 57.00 > 50


def test_customer_cancel_keeps_fee_staff_reject_returns_everything(db, localstripe,
                                                                   assert_ledger_ok):  # fmt: skip
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    first = withdrawal_request(user=user)
    withdrawal_cancel(user=user, withdrawal_id=first.pk)  # R-WDR-4: the fee is kept
    assert _balances(user) == (D("19.00"), D("0"), D("0"))
    second = withdrawal_request(user=user)  # 19.00 - 0.95 = 18.05
    assert second.amount == D("18.05")
    withdrawal_reject(withdrawal_id=second.pk, actor=StaffFactory(), reason="not verified")
    assert _balances(user) == (D("19.00"), D("0"), D("0"))
    assert [e.new_status for e in second.events.all()] == ["pending", "rejected"]
    assert_ledger_ok()


def test_a_placed_order_cancels_the_pending_withdrawal(db, localstripe, assert_ledger_ok):
    # R-WDR-4 through the Orders app's own placement (order_place -> funds_spend).
    from tests.catalog.factories import ServiceFactory
    from tests.orders.factories import place

    user = UserFactory()
    card_deposit(user, "10.00", localstripe)
    withdrawal = withdrawal_request(user=user)  # 9.50 held, 0.50 fee
    order = place(user, ServiceFactory(rate=D("1.20000")), quantity=1000)
    assert order.paid_deposited == D("1.20")
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.CANCELED
    assert _balances(user) == (D("8.30"), D("0"), D("0"))
    assert_ledger_ok()


def test_no_withdrawal_or_payout_while_the_account_is_held(
    db, client, localstripe, assert_ledger_ok
):  # R-AUP-2, R-WDR-5: a hold keeps the balance as evidence; nothing is paid out meanwhile
    from legal.services import account_hold, hold_release

    user = UserFactory()
    deposit = card_deposit(user, "20.00", localstripe)
    finance = StaffFactory()
    hold = account_hold(user=user, reason="Chargebacks from linked cards", actor=finance)
    client.force_login(user)
    page = client.post(
        "/billing/withdrawals/", {"expected_amount": str(payout_figure(user=user).amount)}
    )
    assert "withdrawals and refunds wait until staff finish it" in page.content.decode()
    assert not Withdrawal.objects.filter(user=user).exists()
    hold_release(hold=hold, note="Cleared", actor=finance)

    withdrawal = withdrawal_request(user=user)  # pending, then a new hold before the payout
    hold = account_hold(user=user, reason="New report", actor=finance)
    with pytest.raises(WithdrawalRefused, match="on hold under investigation"):
        withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance)
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PENDING
    assert _refunds(localstripe, deposit.stripe_payment_intent) == []
    assert _balances(user) == (D("0"), D("0"), D("20.00") - withdrawal.fee)

    hold_release(hold=hold, note="Cleared again", actor=finance)
    assert withdrawal_approve(withdrawal_id=withdrawal.pk, actor=finance).status == "paid"
    assert_ledger_ok()
