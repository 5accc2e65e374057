"""The Add Funds pages and the card deposit flow up to the webhook (R-PAY-1, R-PAY-5)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Deposit
from billing.selectors import balance_get
from billing.services import deposit_credit, deposit_start
from tests.billing.factories import PromoCodeFactory
from tests.billing.stripe_helpers import pay
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
ADD_FUNDS = reverse("billing:add_funds")


@pytest.fixture
def signed_in(client, customer):
    client.force_login(customer)
    return client


def test_add_funds_needs_sign_in(client):
    response = client.get(ADD_FUNDS)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_amount_limits_are_settings(signed_in, stripe_settings):  # R-PAY-5
    stripe_settings.DEPOSIT_MIN = D("10.00")
    stripe_settings.DEPOSIT_MAX = D("500.00")
    page = signed_in.get(ADD_FUNDS).content.decode()
    assert "From $10.00 to $500.00." in page

    low = signed_in.post(ADD_FUNDS, {"amount": "9.99"})
    assert "The minimum deposit is $10.00." in low.content.decode()
    high = signed_in.post(ADD_FUNDS, {"amount": "500.01"})
    assert "The maximum deposit is $500.00." in high.content.decode()
    cents = signed_in.post(ADD_FUNDS, {"amount": "10.001"})
    assert cents.status_code == 200
    assert not Deposit.objects.exists()


def test_refused_promo_code_is_explained_beside_the_field(signed_in, stripe_settings):  # R-PRO-1
    PromoCodeFactory(code="BIG", min_deposit=D("100"))
    response = signed_in.post(ADD_FUNDS, {"amount": "20.00", "promo_code": "big"})
    form = response.context["form"]
    assert form.errors["promo_code"] == ["This promo code needs a deposit of at least $100.00."]
    response = signed_in.post(ADD_FUNDS, {"amount": "20.00", "promo_code": "NOPE"})
    assert response.context["form"].errors["promo_code"] == ["This promo code does not exist."]
    response = signed_in.post(ADD_FUNDS, {"amount": "1", "promo_code": "NOPE"})
    assert response.context["form"].errors["promo_code"] == ["This promo code does not exist."]
    assert not Deposit.objects.exists()


def test_valid_amount_opens_the_pay_page_with_stripe_elements(
    signed_in, customer, stripe_settings, localstripe
):  # R-PAY-1
    PromoCodeFactory(code="WELCOME")
    response = signed_in.post(ADD_FUNDS, {"amount": "25.00", "promo_code": "welcome"})
    deposit = Deposit.objects.get(user=customer)
    assert response["Location"] == reverse("billing:deposit_pay", args=[deposit.pk])
    assert (deposit.amount, deposit.promo_code.code, deposit.status) == (
        D("25.00"),
        "WELCOME",
        "awaiting_payment",
    )

    page = signed_in.get(response["Location"]).content.decode()
    deposit.refresh_from_db()
    assert deposit.stripe_setup_intent.startswith("seti_")
    assert f'src="{localstripe}/js.stripe.com/v3/"' in page
    assert 'data-publishable-key="pk_test_panel"' in page
    assert f'data-setup-secret="{deposit.stripe_setup_intent}_secret_' in page
    assert "sk_test_panel" not in page
    assert "<script>" not in page  # the CSP forbids inline scripts


def test_cards_not_configured(signed_in, settings):
    settings.STRIPE_SECRET_KEY = ""
    page = signed_in.get(ADD_FUNDS).content.decode()
    assert "Card payments are not available at the moment." in page
    signed_in.post(ADD_FUNDS, {"amount": "25.00"})
    assert not Deposit.objects.exists()


def test_someone_elses_payment_is_a_404(signed_in, stripe_settings):
    other = deposit_start(user=UserFactory(), amount=D("10.00"))
    for name in ("deposit_detail", "deposit_pay", "deposit_status"):
        assert signed_in.get(reverse(f"billing:{name}", args=[other.pk])).status_code == 404
    assert signed_in.post(reverse("billing:deposit_charge", args=[other.pk])).status_code == 404


def test_charge_only_once_and_credit_only_on_webhook(
    signed_in, customer, stripe_settings, localstripe
):  # R-PAY-2
    deposit = deposit_start(user=customer, amount=D("12.00"))
    assert pay(deposit).status == "processing"
    assert deposit.stripe_payment_intent.startswith("pi_")

    again = signed_in.post(reverse("billing:deposit_charge", args=[deposit.pk]))
    assert again.status_code == 409
    assert again.json()["error"] == "This payment is already under way."
    assert balance_get(user=customer).total == 0

    status = signed_in.get(reverse("billing:deposit_status", args=[deposit.pk])).json()
    assert status == {"status": "processing", "final": False}
    page = signed_in.get(reverse("billing:deposit_detail", args=[deposit.pk])).content.decode()
    assert "Waiting for Stripe to confirm the payment" in page


def test_failed_and_pending_payments_are_listed(signed_in, customer, stripe_settings, localstripe):
    pending = deposit_start(user=customer, amount=D("12.00"))
    pay(pending)
    failed = deposit_start(user=customer, amount=D("13.00"))
    pay(failed, card="pm_card_chargeCustomerFail")
    deposit_start(user=customer, amount=D("14.00"))

    rows = signed_in.get(ADD_FUNDS).content.decode()
    assert "Pending" in rows
    assert "Failed" in rows
    assert "Your card was declined." in rows
    assert "Awaiting payment" in rows


def test_manual_deposit_shows_as_credited(signed_in, customer):
    deposit_credit(user=customer, amount=D("5"), manual=True, memo="bank")  # ledger only
    from billing.services import deposit_manual_create

    deposit = deposit_manual_create(user=customer, amount=D("7.50"), memo="bank transfer")
    page = signed_in.get(reverse("billing:deposit_detail", args=[deposit.pk])).content.decode()
    assert "Credited" in page
    assert "Manual (operator)" in page
