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
