"""The pay page runs without a script error (issue 14): localstripe's Stripe.js mock used to
hide the DOM's Element from Bootstrap ("Cannot read properties of undefined (reading
'call')", four times)."""

import re

import pytest
from django.urls import reverse

from tests.customer_pages import PageWatch
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pay_page_has_no_console_errors(page, stripe_settings):
    watch = PageWatch(page)
    user = UserFactory()
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/"))
    page.goto(reverse("billing:add_funds"))
    page.fill("input[name=amount]", "25.00")
    page.click("form:has(input[name=amount]) button[type=submit]")
    page.wait_for_url(re.compile(r"/pay/$"))
    page.wait_for_load_state("networkidle")
    assert page.locator("#card-element input").count() > 0  # Stripe's card form mounted
    # Bootstrap still works beside it: the balance menu opens
    page.click("#balance-badge .dropdown-toggle")
    assert page.locator("#balance-badge .dropdown-menu").is_visible()
    assert watch.take() == []
