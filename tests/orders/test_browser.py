"""The orders pages in Chromium, with their own script under the CSP (the page fixture fails
on any violation)."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client

from catalog.models import Service
from orders.models import Order
from orders.services import order_staff_partial, order_staff_progress
from tests.catalog.factories import CategoryFactory, ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def customer():
    return funded_customer(deposited="20")


@pytest.fixture
def signed_in(page, live_server, customer):
    """The page, signed in as the customer (the session cookie of a test client)."""
    client = Client()
    client.force_login(customer)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return page


@pytest.fixture
def catalog():
    followers = CategoryFactory(name="Instagram Followers")
    comments = CategoryFactory(name="Instagram Comments")
    return {
        "followers": ServiceFactory(
            category=followers, name="Followers [Real]", rate=D("1.20"), min_quantity=50,
            max_quantity=10000, description="Real-looking profiles, 5k a day.", cancel=True,
        ),
        "cheap": ServiceFactory(category=followers, name="Followers [Cheap]", rate=D("0.45")),
        "package": ServiceFactory(
            category=followers, name="Followers Package 1k", type=Service.Type.PACKAGE,
            rate=D("0.60"), min_quantity=1, max_quantity=1,
        ),
        "comments": ServiceFactory(
            category=comments, name="Custom Comments", type=Service.Type.CUSTOM_COMMENTS,
            rate=D("9.00"), min_quantity=2, max_quantity=100,
        ),
    }  # fmt: skip


def test_new_order_shows_the_charge_live_and_errors_beside_fields(signed_in, catalog):
    page = signed_in
    page.goto("/orders/new/")
    charge = page.locator("#charge")
    assert charge.inner_text() == "—"

    # Search narrows the list; one match is chosen.
    page.fill("#id_search", "real")
    assert page.locator("#id_service").input_value() == str(catalog["followers"].pk)
    assert "Real-looking profiles, 5k a day." in page.locator("#service-description").inner_text()
    assert page.locator("#service-limits").inner_text() == "50 / 10000"

    page.fill("#id_link", "https://www.instagram.com/someone/")
    page.fill("#id_quantity", "2500")
    assert charge.inner_text() == "$3.00"  # 1.20 x 2500 / 1000
    page.fill("#id_quantity", "55")
    assert charge.inner_text() == "$0.066"

    # A Package has no quantity; its price is flat.
    page.fill("#id_search", "")
    page.select_option("#id_service", str(catalog["package"].pk))
    assert page.locator("#field-quantity").is_hidden()
    assert charge.inner_text() == "$0.60"

    # Custom Comments: the quantity is the number of lines.
    page.select_option("#id_category", str(catalog["comments"].category_id))
    assert page.locator("#id_service option[value]").count() == 2  # placeholder + 1
    page.select_option("#id_service", str(catalog["comments"].pk))
    assert page.locator("#field-comments").is_visible()
    page.fill("#id_comments", "Great!\n\nLove it\nWow")
    assert charge.inner_text() == "$0.027"
    assert page.locator("#charge-detail").inner_text() == "3 comments."

    # The server stays the judge: below the minimum is refused beside the quantity.
    page.select_option("#id_category", "")
    page.select_option("#id_service", str(catalog["followers"].pk))
    page.fill("#id_quantity", "10")
    # flagged as they type, beside the field, in the server's words (issue 14)
    live = page.locator("#id_quantity-live-error")
    assert live.inner_text() == "The minimum for this service is 50."
    assert "is-invalid" in page.locator("#id_quantity").get_attribute("class")
    page.fill("#id_quantity", "10001")
    assert live.inner_text() == "The maximum for this service is 10000."
    page.fill("#id_quantity", "10")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    error = page.locator("#id_quantity ~ ul.errorlist")
    assert error.inner_text() == "The minimum for this service is 50."
    assert not Order.objects.exists()

    assert live.is_hidden()  # the server's message alone after a refusal, no echo
    page.fill("#id_quantity", "2500")
    assert charge.inner_text() == "$3.00"
    assert live.is_hidden()
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get()
    assert (order.charge, order.quantity) == (D("3.00"), 2500)
    assert f"Order #{order.pk} placed: $3.00." in page.locator(".alert-success").inner_text()


def test_new_order_says_when_the_balance_does_not_cover_the_charge(signed_in, customer, catalog):
    place(customer, catalog["followers"], quantity=10000)  # $12.00 of $20.00: $8.00 left
    page = signed_in
    page.goto(f"/orders/new/?service={catalog['followers'].pk}")
    warning = page.locator("#balance-warning")
    page.fill("#id_quantity", "5000")  # $6.00
    assert warning.is_hidden()
    page.fill("#id_quantity", "7000")  # $8.40
    assert warning.is_visible()
    assert "Your balance ($8.00) does not cover this charge." in warning.inner_text()
    page.fill("#id_quantity", "6000")
    assert warning.is_hidden()


def test_mass_order_places_the_good_lines_and_reports_the_bad_one(signed_in, catalog):
    page = signed_in
    page.goto("/orders/mass/")
    followers = catalog["followers"].pk
    page.fill(
        "#id_orders",
        f"{followers} | https://www.instagram.com/one/ | 100\n"
        f"{followers} | https://www.instagram.com/two/ | 5\n"
        f"{catalog['cheap'].pk} | https://www.instagram.com/three/ | 1000\n",
    )
    page.click("button[type=submit]")
    page.wait_for_selector("#mass-summary")
    summary = page.locator("#mass-summary").inner_text()
    assert "2 orders placed for $0.57; 1 line refused" in summary
    bad = page.locator("tr.mass-refused")
    assert bad.count() == 1
    assert bad.get_attribute("data-line") == "2"
    assert "The minimum for this service is 50." in bad.inner_text()
    assert page.locator("tr.mass-ok").count() == 2
    assert sorted(Order.objects.values_list("link", flat=True)) == [
        "https://www.instagram.com/one/", "https://www.instagram.com/three/"
    ]  # fmt: skip

    page.locator("tr.mass-ok a").first.click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    assert page.locator("#order-status").inner_text() == "Pending"


def test_order_page_shows_its_history_and_cancel(signed_in, catalog, customer):  # R-ORD-16
    page = signed_in
    staff = StaffFactory()
    partial = place(customer, catalog["followers"], quantity=1000)
    order_staff_progress(order_id=partial.pk, status="in_progress", actor=staff, start_count=4321)
    order_staff_partial(order_id=partial.pk, remains=250, actor=staff, reason="Provider short.")

    page.goto(f"/orders/{partial.pk}/")
    assert page.locator("#order-status").inner_text() == "Partial"
    steps = page.locator("#order-history .history-event .fw-semibold").all_inner_texts()
    assert steps == ["Pending", "Pending → In progress", "In progress → Partial"]
    assert "Provider short." in page.locator("#order-history").inner_text()
    assert page.locator("#order-start-count").inner_text() == "4321"
    assert page.locator("#order-remains").inner_text().startswith("250")
    assert page.locator("#order-refunded").inner_text() == "$0.30"
    assert page.locator("#cancel-order").count() == 0

    pending = place(customer, catalog["followers"], link="https://www.instagram.com/b/")
    page.goto("/orders/")
    page.click(f"tr[data-order-id='{pending.pk}'] a")
    page.wait_for_url(re.compile(rf"/orders/{pending.pk}/$"))
    # asked first (issue 14): saying no sends nothing
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.click("#cancel-order")
    page.wait_for_timeout(300)
    question = f"Cancel order #{pending.pk}? If the provider has not started it, the whole charge"
    assert questions == [question + " comes back to your balance."]
    assert Order.objects.get(pk=pending.pk).status == "pending"
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.click("#cancel-order")
    page.wait_for_url(re.compile(rf"/orders/{pending.pk}/$"))
    page.wait_for_load_state()
    assert page.locator("#order-status").inner_text() == "Canceled"
    assert "is canceled; $1.20 is back." in page.locator(".alert-success").inner_text()
    steps = page.locator("#order-history .history-event .fw-semibold").all_inner_texts()
    assert steps == ["Pending", "Pending → Canceled"]
