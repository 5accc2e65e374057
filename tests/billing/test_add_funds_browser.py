"""Chromium adds funds by card on the live server; localstripe's Stripe.js mock takes the
card and localstripe itself delivers the signed webhook that credits the balance."""

import os
import re
from decimal import Decimal

import pytest
import requests
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import Deposit
from billing.selectors import balance_get
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.factories import PromoCodeFactory
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal


@pytest.fixture
def stripe_webhooks(localstripe, live_server, stripe_settings):
    """localstripe POSTs signed payment events to this live server, for this test only."""
    endpoint = f"{localstripe}/_config/webhooks/panel-{os.getpid()}"
    target = {"url": live_server.url + reverse("billing:stripe_webhook"), "secret": WEBHOOK_SECRET}
    events = ["payment_intent.succeeded", "payment_intent.payment_failed"]
    requests.post(endpoint, json={**target, "events": events}, timeout=10).raise_for_status()
    yield
    requests.post(endpoint, json={**target, "events": []}, timeout=10).raise_for_status()


def _sign_in(page, user):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/"))


def _enter_card(page, number: str):
    card = page.locator("#card-element")
    card.locator("input[placeholder=number]").fill(number)
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("34")
    card.locator("input[placeholder=cvc]").fill("123")
    card.locator("input[placeholder=postal_code]").fill("10001")


def test_add_funds_by_card_with_a_promo_code(page, stripe_webhooks, assert_ledger_ok):
    # R-PAY-1, R-PAY-2, R-PRO-1, R-BAL-2, R-BAL-7
    user = UserFactory()
    PromoCodeFactory(code="WELCOME10", value=D("10"))
    _sign_in(page, user)
    expect(page.locator("#balance-total")).to_have_text("$0.00")

    page.goto(reverse("billing:add_funds"))
    page.fill("input[name=amount]", "25.00")
    page.fill("input[name=promo_code]", "welcome10")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/billing/deposits/\d+/pay/$"))

    _enter_card(page, "4242424242424242")
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/billing/deposits/\d+/$"))
    # The page waits for the webhook, then shows the credit and the new balance.
    expect(page.locator("h1 .badge")).to_have_text("Credited", timeout=20_000)
    expect(page.locator("#balance-total")).to_have_text("$27.50")
    expect(page.locator("#balance-deposited")).to_have_text("$25.00")
    expect(page.locator("#balance-promotional")).to_have_text("$2.50")
    expect(page.locator("#deposit")).to_contain_text("+$2.50 Promotional Credit")

    balance = balance_get(user=user)
    assert (balance.deposited, balance.promotional) == (D("25.00"), D("2.50"))
    deposit = Deposit.objects.get(user=user)
    assert deposit.status == Deposit.Status.CREDITED
    assert deposit.redemption.bonus == D("2.50")

    page.goto(reverse("billing:history"))
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Promo code WELCOME10")
    expect(rows.nth(0)).to_contain_text("$27.50")
    expect(rows.nth(1)).to_contain_text(f"Card deposit #{deposit.pk}")
    expect(rows.nth(1).get_by_role("link", name=f"Payment #{deposit.pk}")).to_be_visible()
    assert_ledger_ok()


def test_declined_card_shows_the_failure(page, stripe_webhooks):
    # R-PAY-2: failed payments are visible to the customer and credit nothing.
    user = UserFactory()
    _sign_in(page, user)
    page.goto(reverse("billing:add_funds"))
    page.fill("input[name=amount]", "10.00")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/pay/$"))

    _enter_card(page, "4000000000000341")  # localstripe: charging this card is declined
    page.click("#pay-button")
    page.wait_for_url(re.compile(r"/billing/deposits/\d+/$"))
    expect(page.locator("h1 .badge")).to_have_text("Failed")
    expect(page.locator("#deposit .alert-danger")).to_contain_text("Your card was declined.")
    expect(page.locator("#balance-total")).to_have_text("$0.00")
    assert balance_get(user=user).total == 0
