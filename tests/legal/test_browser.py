"""In Chromium (the page fixture fails on any CSP violation): new Terms at sign-in, then an
order (R-LEG-2); the data archive downloaded from Account → Privacy (R-PRV-3)."""

import json
import zipfile
from decimal import Decimal

import pytest

from legal.models import Acceptance
from legal.services import acceptance_record, document_publish
from orders.models import Order
from tests.catalog.factories import ServiceFactory
from tests.factories import PASSWORD
from tests.orders.factories import funded_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, user):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", user.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_customer_accepts_new_terms_at_sign_in_then_orders(page, terms, settings):  # R-LEG-2
    settings.ORDERS_LINK_CHECK = False
    service = ServiceFactory(name="Followers [Real]", rate=Decimal("1.20"), min_quantity=50)
    customer = funded_customer(deposited="20")
    acceptance_record(user=customer, document=terms)
    new = document_publish(kind="terms", title="Terms of Service", body="We changed clause 4.",
                           material=True)  # fmt: skip

    _sign_in(page, customer)
    page.wait_for_url("**/legal/accept/**")
    assert f"version {new.version}" in page.locator("#terms-changed").inner_text()
    assert "We changed clause 4." in page.content()

    page.goto("/orders/new/")  # ordering waits for the acceptance
    page.wait_for_url("**/legal/accept/**")
    page.click("#accept-terms")  # without ticking the box
    assert "Tick the box to accept the new Terms" in page.content()
    page.check("#id_accept")
    page.click("#accept-terms")
    page.wait_for_url("**/orders/new/")
    assert Acceptance.objects.filter(user=customer, document=new).exists()

    page.select_option("#id_service", str(service.pk))
    page.fill("#id_link", "https://www.instagram.com/someone/")
    page.fill("#id_quantity", "100")
    page.click("button[type=submit]")
    page.wait_for_url("**/orders/*/")
    assert Order.objects.filter(user=customer).count() == 1


def test_customer_downloads_the_data_archive(page, terms):  # R-PRV-3
    customer = funded_customer(deposited="20", username="archivist")
    _sign_in(page, customer)
    page.wait_for_url("**/dashboard/")
    page.goto("/account/")
    page.click("text=Download, correct or delete my data")
    page.wait_for_url("**/account/privacy/")
    page.click("#prepare-archive")
    page.wait_for_selector("#download-archive")
    assert "Ready to download." in page.locator("#export-status").inner_text()
    with page.expect_download() as info:
        page.click("#download-archive")
    download = info.value
    assert download.suggested_filename.startswith("my-data-")
    archive = zipfile.ZipFile(download.path())
    profile = json.loads(archive.read("profile.json"))
    assert profile[0]["username"] == "archivist"
    assert {"orders.json", "balance_history.json", "sign_ins.json"} <= set(archive.namelist())
