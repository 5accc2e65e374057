"""Chromium: a customer requests a withdrawal, sees the figure and confirms it; a Finance
user (with TOTP) approves it in the admin; the balance history shows each movement."""

import re
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import Withdrawal
from billing.selectors import balance_get
from tests.billing.money_out import card_deposit, finance_group
from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

D = Decimal
SECRET = "JBSWY3DPEHPK3PXP"


def _sign_in(page, user, *, totp: bool = False):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    if totp:  # R-ACC-7: staff sign in with a TOTP code
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        code = format_hotp_value(hotp_value(SECRET, next(yield_hotp_counters_from_time())))
        page.fill("input[name=code]", code)
        page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/"))


def test_withdrawal_requested_confirmed_approved_and_in_history(
    page, chromium, live_server, stripe_settings, localstripe, assert_ledger_ok
):  # R-WDR-3, R-WDR-5 (staff decide), R-BAL-7
    customer = UserFactory()
    card_deposit(customer, "50.00", localstripe, fee="1.75")
    _sign_in(page, customer)

    page.goto(reverse("billing:withdrawals"))
    # The exact figure before confirming: 50.00 - 2.50 fee - 1.75 deposit fee = 45.75.
    expect(page.locator("#fig-deposited")).to_have_text("$50.00")
    expect(page.locator("#fig-fee")).to_have_text("\u2212$2.50")
    expect(page.locator("#fig-deposit-fees")).to_have_text("\u2212$1.75")
    expect(page.locator("#fig-amount")).to_have_text("$45.75")
    page.click("#confirm-withdrawal")
    expect(page.locator("#withdrawals .status").first).to_contain_text("Pending")
    assert balance_get(user=customer).held == D("47.50")

    finance = StaffFactory(is_superuser=False)
    finance.groups.add(finance_group())
    TOTP.activate(finance, SECRET)
    staff_context = chromium.new_context(base_url=live_server.url)
    staff_context.set_default_timeout(15_000)
    staff = staff_context.new_page()
    try:
        _sign_in(staff, finance, totp=True)
        staff.goto(reverse("admin:billing_withdrawal_changelist"))
        withdrawal = Withdrawal.objects.get(user=customer)
        staff.check(f"input[name=_selected_action][value='{withdrawal.pk}']")
        staff.select_option("select[name=action]", "approve")
        staff.click("button[name=index]")
        expect(staff.locator(".messagelist")).to_contain_text("Processed: 1")
    finally:
        staff_context.close()
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID

    page.goto(reverse("billing:history"))
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Paid out to card")
    expect(rows.nth(0)).to_contain_text("\u2212$47.50")
    expect(rows.nth(1)).to_contain_text("Withdrawal requested")
    expect(rows.nth(1)).to_contain_text("\u2212$50.00")
    expect(rows.nth(1)).to_contain_text("+$47.50")
    expect(rows.nth(2)).to_contain_text("Deposit")
    expect(rows.nth(2)).to_contain_text("+$50.00")
    assert_ledger_ok()
