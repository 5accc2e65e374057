import re

import pytest
from django.core import mail

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("terms"),
]


def test_sign_up_verify_sign_in_and_see_dashboard(page):  # R-ACC-1, R-ACC-3
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "newbie@example.com")
    page.fill("input[name=username]", "newbie")
    page.fill("input[name=password1]", "a-long-pass-phrase-7")
    page.fill("input[name=password2]", "a-long-pass-phrase-7")
    page.check("input[name=is_adult]")
    page.check("input[name=accept_terms]")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("/", 3)[3]

    # Issue 9: sign-up answers alike for taken and free addresses, so it does not sign in.
    page.goto(path)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/login/"))

    page.fill("input[name=login]", "newbie@example.com")
    page.fill("input[name=password]", "a-long-pass-phrase-7")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/"))
    assert page.locator("h1").inner_text() == "Dashboard"
    assert "newbie" in page.content()
