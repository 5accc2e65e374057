"""The services page in Chromium: search and filter, with the page's JS under the CSP."""

import re
from decimal import Decimal

import pytest

from catalog.models import Category
from tests.catalog.factories import CategoryFactory, ServiceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_and_filter_the_services_page(page):
    insta = CategoryFactory(name="Instagram Followers", platform=Category.Platform.INSTAGRAM)
    tiktok = CategoryFactory(name="TikTok Views", platform=Category.Platform.TIKTOK)
    ServiceFactory(category=insta, name="Instagram Followers [Refill 30 days]",
                   refill=True, refill_days=30, rate=Decimal("2.00"))  # fmt: skip
    ServiceFactory(category=insta, name="Instagram Followers [Cheap]")
    ServiceFactory(category=tiktok, name="TikTok Video Views", refill=True, refill_days=30)
    names = page.locator(".service-name")

    page.goto("/services/")
    assert names.count() == 3
    assert "$2.00" in page.locator("tr", has_text="Refill 30 days").inner_text()

    page.fill("input[name=q]", "cheap")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"q=cheap"))
    assert names.all_inner_texts() == ["Instagram Followers [Cheap]"]

    page.goto("/services/")
    page.select_option("select[name=platform]", "tiktok")  # services.js submits on change
    page.wait_for_url(re.compile(r"platform=tiktok"))
    assert names.all_inner_texts() == ["TikTok Video Views"]

    page.select_option("select[name=platform]", "instagram")
    page.wait_for_url(re.compile(r"platform=instagram"))
    page.check("input[name=refill]")
    page.wait_for_url(re.compile(r"refill=on"))
    assert names.all_inner_texts() == ["Instagram Followers [Refill 30 days]"]

    page.fill("input[name=q]", "youtube")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"q=youtube"))
    assert page.locator("#no-services").is_visible()
