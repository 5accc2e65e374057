"""The affiliate program (R-PRO-3): referral link, sign-up linked to its referrer, commission
on the referred customer's card deposits (localstripe), self-referrals refused, clawback."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from billing.exceptions import AffiliateRefused
from billing.models import AffiliateLink, Commission, Deposit, Referral
from billing.selectors import balance_get
from billing.services import funds_spend
from billing.services.affiliates import (
    affiliate_link_get_or_create,
    affiliate_transfer,
    commission_credit,
    referral_attach,
    referral_self_reason,
)
from billing.services.deposits import deposit_manual_create
from legal.models import Acceptance, Document
from legal.selectors import document_current
from tests.billing.money_out import card_deposit, dispute_event, signed_event
from tests.factories import UserFactory

D = Decimal
pytestmark = [pytest.mark.usefixtures("terms", "stripe_settings")]

SIGNUP = {
    "email": "friend@example.com",
    "username": "friend",
    "password1": "a-long-pass-phrase-7",
    "password2": "a-long-pass-phrase-7",
    "is_adult": "on",
    "accept_terms": "on",
}


def _signup_through_link(client, code: str, ip: str):
    response = client.get(reverse("billing:referral", args=[code]))
    assert response.status_code == 302
    assert response.url == reverse("account_signup")
    response = client.post("/accounts/signup/", SIGNUP, REMOTE_ADDR=ip)
    assert response.status_code == 302
    return get_user_model().objects.get(username="friend")


def _referrer(ip: str = "198.51.100.7"):
    """A customer who signed up (accepted the Terms) from ``ip``."""
    referrer = UserFactory()
    Acceptance.objects.create(
        user=referrer,
        document=document_current(kind=Document.Kind.TERMS),
        accepted_at=referrer.date_joined,
        ip_address=ip,
    )
    return referrer


def test_referred_signup_is_linked_and_earns_commission(db, client, localstripe,
                                                        assert_ledger_ok):  # fmt: skip
    # R-PRO-3: 5 % of the referred customer's deposits, to the referrer's Affiliate balance.
    referrer = _referrer()
    link = affiliate_link_get_or_create(user=referrer)
    friend = _signup_through_link(client, link.code, ip="203.0.113.9")
    referral = Referral.objects.get(referred=friend)
    assert (referral.referrer, referral.signup_ip) == (referrer, "203.0.113.9")

    deposit = card_deposit(friend, "80.00", localstripe)
    commission = Commission.objects.get(deposit=deposit)
    assert (commission.status, commission.amount) == ("credited", D("4.00"))
    assert balance_get(user=referrer).affiliate == D("4.00")
    assert balance_get(user=friend).deposited == D("80.00")  # the referred pays nothing for it

    client.force_login(referrer)
    page = client.get(reverse("billing:affiliates")).content.decode()
    assert f"/billing/r/{link.code}/" in page
    assert "friend" in page
    assert_ledger_ok()


def test_a_code_longer_than_any_code_is_no_referral(db, client):
    # Issue 9: input is never shortened, so a long code cannot be cut into a real one.
    referrer = _referrer()
    AffiliateLink.objects.create(user=referrer, code="a" * 16)
    response = client.get(reverse("billing:referral", args=["a" * 16 + "extra"]))
    assert response.status_code == 302
    assert "smm_ref" not in response.cookies
    client.post("/accounts/signup/", SIGNUP, REMOTE_ADDR="203.0.113.9")
    assert get_user_model().objects.filter(username="friend").exists()
    assert not Referral.objects.exists()  # R-PRO-3


def test_same_signup_ip_earns_nothing(db, client, localstripe):  # R-PRO-3: self-referral
    referrer = _referrer(ip="203.0.113.50")
    link = affiliate_link_get_or_create(user=referrer)
    friend = _signup_through_link(client, link.code, ip="203.0.113.50")
    deposit = card_deposit(friend, "20.00", localstripe)
    commission = Commission.objects.get(deposit=deposit)
    assert (commission.status, commission.refusal_reason) == ("refused", "same sign-up IP address")
    assert balance_get(user=referrer).affiliate == 0


def test_same_card_earns_nothing(db, localstripe):  # R-PRO-3: self-referral by card
    referrer = _referrer()
    card_deposit(referrer, "10.00", localstripe)  # the referrer paid with this card
    friend = UserFactory()
    referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address="192.0.2.1"
    )
    deposit = card_deposit(friend, "20.00", localstripe)  # the same card (same fingerprint)
    assert deposit.card_fingerprint
    commission = Commission.objects.get(deposit=deposit)
    # The shared card fingerprint links the two accounts (R-ACC-4), which is found first.
    assert commission.status == "refused"
    assert commission.refusal_reason in ("linked accounts", "same payment card")
    assert balance_get(user=referrer).affiliate == 0


def test_own_link_and_same_account_earn_nothing(db):  # R-PRO-3
    user = UserFactory()
    code = affiliate_link_get_or_create(user=user).code
    assert referral_attach(user=user, code=code, ip_address=None) is None
    assert referral_self_reason(referral=Referral(referrer=user, referred=user)) == "same account"


def _referred(referrer, *, ip: str = "192.0.2.60"):
    """A customer referred by ``referrer``, signed up from ``ip``, sharing nothing yet."""
    friend = UserFactory()
    referral = referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address=ip
    )
    assert referral is not None
    return friend, referral


def test_nothing_shared_is_no_self_referral(db):  # R-PRO-3, R-ACC-4 (control for the next)
    referrer = _referrer(ip="198.51.100.7")
    friend, referral = _referred(referrer, ip="192.0.2.60")
    deposit = Deposit(user=friend, card_fingerprint="fp_friend_only")
    assert referral_self_reason(referral=referral, deposit=deposit) == ""


@pytest.mark.parametrize("kind", ["device", "signup_ip", "card"])
def test_linked_accounts_earn_nothing(db, kind, assert_ledger_ok):
    # R-PRO-3, R-ACC-4: a device cookie, a sign-up IP or a card shared (an AccountSignal of
    # each) links the accounts; their own referral IPs and cards differ.
    from accounts.models import AccountSignal
    from accounts.services import account_signal_record

    referrer = _referrer(ip="198.51.100.7")
    friend, referral = _referred(referrer, ip="192.0.2.61")
    for user in (referrer, friend):
        account_signal_record(user=user, kind=kind, value=f"shared-{kind}")
    assert AccountSignal.objects.filter(value=f"shared-{kind}").count() == 2
    assert referral_self_reason(referral=referral) == "linked accounts"

    deposit = deposit_manual_create(user=friend, amount=D("20.00"), memo="bank transfer")
    commission = Commission.objects.get(deposit=deposit)
    assert (commission.status, commission.refusal_reason) == ("refused", "linked accounts")
    assert commission.transaction is None
    assert balance_get(user=referrer).affiliate == 0
    assert_ledger_ok()


def test_linked_through_a_third_account_earns_nothing(db):  # R-PRO-3, R-ACC-4
    from accounts.services import account_signal_record

    referrer = _referrer(ip="198.51.100.7")
    friend, referral = _referred(referrer, ip="192.0.2.62")
    middle = UserFactory()
    account_signal_record(user=referrer, kind="card", value="fp_a")
    account_signal_record(user=middle, kind="card", value="fp_a")
    account_signal_record(user=middle, kind="device", value="dev_b")
    account_signal_record(user=friend, kind="device", value="dev_b")
    assert referral_self_reason(referral=referral) == "linked accounts"


def test_same_signup_ip_alone_earns_nothing(db, assert_ledger_ok):
    # R-PRO-3: the referred sign-up came from the IP the referrer signed up from (their first
    # Terms acceptance, R-ACC-1), with no linking signal recorded (R-ACC-4 finds nothing).
    from accounts.selectors import accounts_linked

    referrer = _referrer(ip="203.0.113.77")
    friend, referral = _referred(referrer, ip="203.0.113.77")
    assert accounts_linked(user=referrer) == set()
    assert referral_self_reason(referral=referral) == "same sign-up IP address"

    deposit = deposit_manual_create(user=friend, amount=D("20.00"), memo="bank transfer")
    commission = Commission.objects.get(deposit=deposit)
    assert (commission.status, commission.refusal_reason) == ("refused", "same sign-up IP address")
    assert balance_get(user=referrer).affiliate == 0
    assert_ledger_ok()


def test_same_card_fingerprint_alone_earns_nothing(db, assert_ledger_ok):
    # R-PRO-3: the referred customer's deposit is paid with a card (Stripe fingerprint) the
    # referrer paid with, with no linking signal recorded (R-ACC-4 finds nothing) and
    # different sign-up IPs.
    from accounts.selectors import accounts_linked

    referrer = _referrer(ip="198.51.100.7")
    friend, referral = _referred(referrer, ip="192.0.2.63")
    paid = deposit_manual_create(user=referrer, amount=D("10.00"), memo="card")
    Deposit.objects.filter(pk=paid.pk).update(method="stripe", card_fingerprint="fp_same")
    assert accounts_linked(user=referrer) == set()

    other = Deposit(user=friend, card_fingerprint="fp_other")
    assert referral_self_reason(referral=referral, deposit=other) == ""
    deposit = Deposit.objects.create(
        user=friend,
        method="stripe",
        amount=D("20"),
        status="processing",
        card_fingerprint="fp_same",
    )
    assert referral_self_reason(referral=referral, deposit=deposit) == "same payment card"
    commission = commission_credit(deposit=deposit)
    assert commission is not None
    assert (commission.status, commission.refusal_reason) == ("refused", "same payment card")
    assert balance_get(user=referrer).affiliate == 0
    assert_ledger_ok()


def test_a_closed_referrer_earns_nothing(db, assert_ledger_ok):  # R-PRO-3, R-ACC-6
    referrer = _referrer(ip="198.51.100.7")
    friend, _ = _referred(referrer, ip="192.0.2.64")
    get_user_model().objects.filter(pk=referrer.pk).update(status="closed")
    deposit = Deposit.objects.create(
        user=friend, method="stripe", amount=D("20"), status="processing",
        card_fingerprint="fp_friend_only",
    )  # fmt: skip
    commission = commission_credit(deposit=deposit)
    assert commission is not None
    assert (commission.status, commission.refusal_reason) == (
        "refused", "the referrer's account is closed",
    )  # fmt: skip
    assert balance_get(user=referrer).affiliate == 0
    assert_ledger_ok()


def test_dispute_claws_back_commission_into_owed(db, client, localstripe, assert_ledger_ok):
    # R-PRO-3, R-BAL-5: clawback may go negative -> Owed.
    referrer = _referrer()
    friend = UserFactory()
    referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address="192.0.2.2"
    )
    deposit = card_deposit(friend, "100.00", localstripe)
    assert balance_get(user=referrer).affiliate == D("5.00")
    affiliate_transfer(user=referrer, amount=D("3.00"))  # moved to the panel balance...
    funds_spend(user=referrer, amount=D("3.00"), memo="o", ref_kind="order", ref_id=1)  # spent
    payload, header = signed_event(dispute_event(deposit, event_id="e_cb", dispute_id="dp_cb"))
    response = client.post(
        reverse("billing:stripe_webhook"),
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=header,
    )
    assert response.status_code == 200
    balance = balance_get(user=referrer)
    assert (balance.affiliate, balance.owed) == (D("0"), D("3.00"))
    commission = Commission.objects.get(deposit=deposit)
    assert (commission.status, commission.clawed_back) == ("clawed_back", D("5.00"))
    assert_ledger_ok()


def test_refunded_deposit_claws_back_its_share(db, localstripe, assert_ledger_ok):  # R-PRO-3
    from billing.services.withdrawals import withdrawal_approve, withdrawal_request
    from tests.factories import StaffFactory

    referrer = _referrer()
    friend = UserFactory()
    referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address="192.0.2.3"
    )
    card_deposit(friend, "100.00", localstripe)
    withdrawal = withdrawal_request(user=friend)  # 95.00 back to the card
    withdrawal_approve(withdrawal_id=withdrawal.pk, actor=StaffFactory())
    # 95 % of the deposit refunded: 4.75 of the 5.00 commission comes back.
    assert balance_get(user=referrer).affiliate == D("0.25")
    assert_ledger_ok()


def test_transfer_to_panel_balance(db, localstripe, assert_ledger_ok):  # R-PRO-3
    referrer = _referrer()
    friend = UserFactory()
    referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address="192.0.2.4"
    )
    card_deposit(friend, "40.00", localstripe)
    with pytest.raises(AffiliateRefused):
        affiliate_transfer(user=referrer, amount=D("2.01"))
    affiliate_transfer(user=referrer, amount=D("2.00"))
    balance = balance_get(user=referrer)
    assert (balance.affiliate, balance.deposited) == (D("0"), D("2.00"))
    assert_ledger_ok()


def test_affiliates_page_moves_money_and_lists_payouts(db, client, localstripe):  # R-PRO-3
    referrer = _referrer()
    friend = UserFactory()
    referral_attach(
        user=friend, code=affiliate_link_get_or_create(user=referrer).code, ip_address="192.0.2.5"
    )
    card_deposit(friend, "20.00", localstripe)  # 1.00 commission
    client.force_login(referrer)
    url = reverse("billing:affiliates")
    page = client.post(url, {"amount": "5"}).content.decode()
    assert "That is more than your affiliate balance." in page
    assert client.post(url, {"amount": "1.00"}).status_code == 302
    page = client.get(url).content.decode()
    assert "Affiliate balance moved to your panel balance" in page
    assert balance_get(user=referrer).deposited == D("1.00")
