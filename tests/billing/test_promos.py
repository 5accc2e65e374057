"""Promo codes: window, eligibility, minimum deposit, usage limits, bonus (R-PRO-1, R-PRO-2)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.exceptions import PromoCodeRefused
from billing.models import Deposit, PromoCode, PromoRedemption
from billing.selectors import balance_get
from billing.services import promo_bonus, promo_code_check, promo_redeem
from tests.billing.factories import PromoCodeFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def _deposit(user, promo, amount="50.00"):
    return Deposit.objects.create(
        user=user, method=Deposit.Method.STRIPE, amount=D(amount), promo_code=promo
    )


def _refusal(code, user, amount="50.00"):
    with pytest.raises(PromoCodeRefused) as exc:
        promo_code_check(code=code, user=user, amount=D(amount))
    return exc.value.message


def test_bonus_fixed_or_percentage_with_a_cap():
    fixed = PromoCodeFactory.build(kind=PromoCode.Kind.FIXED, value=D("5"))
    percent = PromoCodeFactory.build(kind=PromoCode.Kind.PERCENT, value=D("12.5"))
    capped = PromoCodeFactory.build(value=D("50"), max_bonus=D("20"))
    assert promo_bonus(promo=fixed, amount=D("1000")) == D("5")
    assert promo_bonus(promo=percent, amount=D("33.33")) == D("4.16625")
    assert promo_bonus(promo=capped, amount=D("100")) == D("20")


def test_codes_are_case_insensitive(customer):
    PromoCodeFactory(code="Spring25")
    assert promo_code_check(code=" spring25 ", user=customer, amount=D("10")).code == "SPRING25"


def test_each_refusal_has_a_clear_reason(customer):
    now = timezone.now()
    PromoCodeFactory(code="OFF", is_active=False)
    PromoCodeFactory(code="SOON", valid_from=now + timedelta(days=1), valid_until=None)
    PromoCodeFactory(code="OLD", valid_from=now - timedelta(days=9), valid_until=now)
    PromoCodeFactory(code="MIN", min_deposit=D("100"))
    vip = PromoCodeFactory(code="VIP")
    vip.eligible_users.add(UserFactory())

    assert _refusal("NONE", customer) == "This promo code does not exist."
    assert _refusal("OFF", customer) == "This promo code is no longer active."
    assert _refusal("SOON", customer).startswith("This promo code can be used from ")
    assert _refusal("OLD", customer).startswith("This promo code expired on ")
    assert _refusal("MIN", customer, "99.99") == (
        "This promo code needs a deposit of at least $100.00."
    )
    assert _refusal("VIP", customer) == "This promo code is not available for your account."
    vip.eligible_users.add(customer)
    assert promo_code_check(code="VIP", user=customer, amount=D("50")) == vip


def test_usage_limits_per_account_and_in_total(customer):
    promo = PromoCodeFactory(code="TWICE", max_uses_per_account=2, max_uses_total=3)
    for _ in range(2):
        assert promo_redeem(deposit=_deposit(customer, promo)) is not None
    assert _refusal("TWICE", customer) == (
        "You have already used this promo code 2 times, the most it allows."
    )
    assert promo_redeem(deposit=_deposit(UserFactory(), promo)) is not None
    assert _refusal("TWICE", UserFactory()) == "This promo code has been fully redeemed."

    once = PromoCodeFactory(code="ONCE")
    promo_redeem(deposit=_deposit(customer, once))
    assert _refusal("ONCE", customer) == "You have already used this promo code."


def test_bonus_is_promotional_credit(customer, assert_ledger_ok):  # R-PRO-1, R-PRO-2
    promo = PromoCodeFactory(code="TEN", value=D("10"))
    deposit = _deposit(customer, promo, "42.00")
    redemption = promo_redeem(deposit=deposit)
    assert redemption.bonus == D("4.20")
    assert balance_get(user=customer).promotional == D("4.20")
    assert balance_get(user=customer).deposited == D("0")
    txn = redemption.transaction
    assert (txn.reason, txn.ref_kind, txn.ref_id) == ("promo_bonus", "deposit", str(deposit.pk))
    assert {e.account.kind for e in txn.entries.all()} == {"promotional", "promotions_expense"}
    assert_ledger_ok()


def test_limit_reached_before_the_payment_is_confirmed_is_noted(customer):
    promo = PromoCodeFactory(code="LAST", max_uses_total=1)
    first = _deposit(customer, promo)
    second = _deposit(UserFactory(), promo)
    promo_redeem(deposit=first)
    assert promo_redeem(deposit=second) is None
    assert second.promo_note == (
        "Promo code LAST was not applied: This promo code has been fully redeemed."
    )
    assert PromoRedemption.objects.count() == 1


def test_window_is_judged_when_the_customer_started_the_deposit(customer):
    promo = PromoCodeFactory(code="ENDING")
    deposit = _deposit(customer, promo)
    PromoCode.objects.filter(pk=promo.pk).update(valid_until=timezone.now())
    assert promo_redeem(deposit=deposit) is not None  # it was valid when they entered it


def test_linked_accounts_share_the_per_account_limit(customer):  # R-ACC-4, R-PRO-1
    from accounts.models import AccountSignal
    from accounts.services import account_signal_record

    second = UserFactory()  # the same person's other account: the same device cookie
    stranger = UserFactory()
    for user in (customer, second):
        account_signal_record(user=user, kind=AccountSignal.Kind.DEVICE, value="device-1")
    once = PromoCodeFactory(code="WELCOME")
    assert promo_redeem(deposit=_deposit(customer, once)) is not None

    assert _refusal("WELCOME", second) == (
        "This promo code has already been used on an account linked to yours, "
        "and its limit counts your accounts together."
    )
    # The locked re-check when the payment is credited refuses it too.
    late = _deposit(second, once)
    assert promo_redeem(deposit=late) is None
    assert late.promo_note.startswith("Promo code WELCOME was not applied: ")
    # An unlinked customer still gets it.
    assert promo_code_check(code="WELCOME", user=stranger, amount=D("50")) == once
    assert promo_redeem(deposit=_deposit(stranger, once)) is not None
