"""A customer closes their own account (R-ACC-6, R-PRO-2)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.selectors import api_key_user
from accounts.services import api_key_issue
from billing.models import Withdrawal
from billing.selectors import balance_get
from billing.services import promo_credit_grant
from billing.services.withdrawals import withdrawal_approve, withdrawal_request
from tests.billing.money_out import card_deposit
from tests.factories import PASSWORD, StaffFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.usefixtures("stripe_settings")


def test_closing_offers_withdrawal_first_then_closes(db, client, localstripe, assert_ledger_ok):
    user = UserFactory()
    card_deposit(user, "30.00", localstripe)
    promo_credit_grant(user=user, amount=D("6.00"), memo="bonus")
    _, key = api_key_issue(user=user)
    client.force_login(user)
    page = client.get(reverse("billing:account_close")).content.decode()
    assert "Withdraw $28.50 to your card first" in page  # offered before closing

    withdrawal = withdrawal_request(user=user)
    response = client.post(reverse("billing:account_close"), {"confirmation": "wrong"})
    assert "Type your username exactly" in response.content.decode()
    response = client.post(reverse("billing:account_close"), {"confirmation": user.username})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.status == User.Status.CLOSED
    balance = balance_get(user=user)
    assert (balance.promotional, balance.held) == (D("0"), D("28.50"))  # R-PRO-2 forfeited
    assert api_key_user(key=key) is None  # the API key stops
    client.logout()
    response = client.post("/accounts/login/", {"login": user.username, "password": PASSWORD})
    assert response.status_code == 403  # sign-in stops
    # The pending withdrawal is still paid after closing.
    paid = withdrawal_approve(withdrawal_id=withdrawal.pk, actor=StaffFactory())
    assert paid.status == Withdrawal.Status.PAID
    assert_ledger_ok()


def test_refund_offer_and_affiliate_balance_come_before_closing(db, client, localstripe,
                                                                assert_ledger_ok):  # fmt: skip
    # R-ACC-6: money the customer can still take out is shown before the closure. A refund
    # staff offered (R-WDR-2) must be confirmed or declined first: closing would otherwise
    # drop it unseen. The Affiliate balance is earned money, not Promotional Credit, so R-ACC-6
    # does not forfeit it: the page offers moving it to the panel balance, and closing keeps it.
    from billing.services.affiliates import affiliate_link_get_or_create, referral_attach
    from billing.services.deposits import deposit_manual_create
    from billing.services.withdrawals import refund_offer

    user = UserFactory()
    card_deposit(user, "30.00", localstripe)
    promo_credit_grant(user=user, amount=D("6.00"), memo="bonus")
    friend = UserFactory()
    code = affiliate_link_get_or_create(user=user).code
    referral_attach(user=friend, code=code, ip_address="192.0.2.91")
    deposit_manual_create(user=friend, amount=D("70.00"), memo="bank transfer")  # 3.50 to user
    offer = refund_offer(user=user, actor=StaffFactory(), reference="ticket #7")
    assert offer.status == Withdrawal.Status.AWAITING_CONFIRMATION

    client.force_login(user)
    url = reverse("billing:account_close")
    page = client.get(url).content.decode()
    assert 'id="refund-offers"' in page
    assert reverse("billing:refund_confirm", args=[offer.pk]) in page
    assert reverse("billing:withdrawal_cancel", args=[offer.pk]) in page
    assert f"<strong>${offer.amount:.2f}</strong>" in page
    first = page.split('id="affiliate-first"')[1].split("</div>")[0]
    assert "$3.50" in first
    assert f'href="{reverse("billing:affiliates")}"' in first

    page = client.post(url, {"confirmation": user.username}).content.decode()
    assert "confirm or decline it before closing" in page
    user.refresh_from_db()
    offer.refresh_from_db()
    assert (user.status, offer.status) == (
        User.Status.ACTIVE,
        Withdrawal.Status.AWAITING_CONFIRMATION,
    )

    client.post(reverse("billing:withdrawal_cancel", args=[offer.pk]))  # declined
    assert 'id="refund-offers"' not in client.get(url).content.decode()
    assert client.post(url, {"confirmation": user.username}).status_code == 200
    user.refresh_from_db()
    assert user.status == User.Status.CLOSED
    balance = balance_get(user=user)
    assert (balance.promotional, balance.affiliate, balance.deposited) == (
        D("0"), D("3.50"), D("30.00"),
    )  # fmt: skip
    assert_ledger_ok()
