"""Every customer page in Chromium on a desktop (1280 x 800) and a phone (390 x 844), on the demo
data (issue 14): no console error, no failed request, no horizontal scrolling on the phone.
Screenshots go to var/screenshots/<viewport>/ (CI keeps them as artifacts)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from tests.customer_pages import PageWatch, customer_urls, demo_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
VISITOR_PAGES = ["/", "/accounts/login/", "/accounts/signup/", "/services/"]
OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
# Nor is a table cut off inside its .table-responsive box (phones get stacked cards).
TABLES_FIT = """[...document.querySelectorAll(".table-responsive")]
  .every((box) => box.scrollWidth <= box.clientWidth + 1)"""
# The admin puts its result table in a box that scrolls sideways: the table must fit that box.
LIST_FITS = """(() => {
  const box = document.querySelector("#changelist .results");
  return !box || box.scrollWidth <= box.clientWidth + 1;
})()"""


def _context(chromium, live_server, viewport: str, user=None):
    width, height = VIEWPORTS[viewport]
    context = chromium.new_context(
        base_url=live_server.url,
        viewport={"width": width, "height": height},
        is_mobile=viewport == "phone",
        has_touch=viewport == "phone",
    )
    context.set_default_timeout(30_000)  # a busy machine (CI runs two workers)
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )
    return context


def _slug(url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home"


def visit_all(
    chromium,
    live_server,
    viewport: str,
    urls: list[str],
    *,
    user=None,
    prefix="",
    boxes_may_scroll=False,
):
    """Open each URL; return the problems found, per URL."""
    context = _context(chromium, live_server, viewport, user)
    page = context.new_page()
    watch = PageWatch(page)
    folder = SCREENSHOTS / viewport
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    try:
        for url in urls:
            response = page.goto(url, wait_until="load")
            page.wait_for_load_state("networkidle")
            problems = watch.take()
            if response is None or response.status != 200:
                problems.append(f"status {response.status if response else None}")
            if viewport == "phone" and not page.evaluate(OVERFLOW):
                wide = page.evaluate("document.documentElement.scrollWidth")
                problems.append(f"scrolls sideways: {wide}px wide in a 390px window")
            if viewport == "phone" and not boxes_may_scroll and not page.evaluate(TABLES_FIT):
                problems.append("a table is cut off (scrolls inside its box)")
            page.screenshot(path=str(folder / f"{prefix}{_slug(url)}.png"), full_page=True)
            if problems:
                found[url] = problems
    finally:
        context.close()
    return found


@pytest.fixture
def demo(terms):
    return demo_customer()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_customer_page_is_clean(chromium, live_server, demo, viewport):
    urls = customer_urls(demo)
    assert len(urls) >= 12
    assert visit_all(chromium, live_server, viewport, urls, user=demo) == {}
    assert (SCREENSHOTS / viewport / "orders.png").exists()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_visitor_page_is_clean(chromium, live_server, demo, viewport):
    from legal.models import Document

    kinds = Document.objects.values_list("kind", flat=True).distinct()
    urls = VISITOR_PAGES + [f"/legal/{kind}/" for kind in kinds]  # the published ones
    found = visit_all(chromium, live_server, viewport, urls, prefix="visitor-")
    assert found == {}


def test_phone_tables_are_stacked_cards_and_links_are_cut(chromium, live_server, demo):
    context = _context(chromium, live_server, "phone", demo)
    page = context.new_page()
    page.goto("/orders/")
    assert page.locator("#orders-table thead").is_hidden()
    row = page.locator("#orders-table tr.order-row").first
    assert row.evaluate("r => getComputedStyle(r).display") == "block"
    link = row.locator(".cell-link")
    assert link.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    assert link.evaluate("e => e.getBoundingClientRect().right") <= 390
    # the whole link is on the order page
    full = row.locator(".cell-link").get_attribute("title")
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    assert full in page.locator("dd.text-break").first.inner_text()
    # Services: a jump list to each category
    page.goto("/services/")
    jump = page.locator("#category-jump a")
    assert jump.count() >= 2
    target = jump.nth(1).get_attribute("href")
    jump.nth(1).click()
    assert page.locator(target).is_visible()
    context.close()


STAFF_PAGES = [
    "admin:index",
    "admin:orders_order_changelist",
    "admin:orders_staffqueueorder_changelist",
    "admin:accounts_user_changelist",
    "admin:catalog_service_changelist",
    "admin:catalog_provider_changelist",
    "admin:billing_transaction_changelist",
    "admin:billing_deposit_changelist",
]


def _staff_urls(demo):
    """Every staff page: the admin's, the desk (queue and a ticket) and the operator dashboard."""
    from django.urls import reverse

    from orders.models import Order
    from support.models import Ticket

    order = Order.objects.filter(user=demo).first()
    urls = [reverse(name) for name in STAFF_PAGES] + [
        reverse("admin:accounts_user_change", args=[demo.pk]),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("desk:queue"),
        reverse("stats:dashboard"),
    ]
    ticket = Ticket.objects.order_by("pk").first()
    if ticket is not None:
        urls.append(reverse("desk:ticket", args=[ticket.pk]))
    return urls


def _staff():
    from allauth.mfa.models import Authenticator

    from tests.factories import StaffFactory

    staff = StaffFactory()  # a superuser: the desk, the admin and the dashboard
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return staff


def test_staff_pages_are_clean_and_lists_fit_1280(chromium, live_server, demo):
    staff = _staff()
    urls = _staff_urls(demo)
    assert any("/desk/tickets/" in url for url in urls)  # the demo data has tickets
    assert visit_all(chromium, live_server, "desktop", urls, user=staff, prefix="staff-") == {}
    context = _context(chromium, live_server, "desktop", staff)
    page = context.new_page()
    for url in urls[1:8]:  # the lists: no sideways scrolling of the page at 1280 px
        page.goto(url)
        assert page.evaluate(OVERFLOW), url
    for url in urls[1:3]:  # the orders lists fit whole, not scrolled inside their box either
        page.goto(url)
        assert page.evaluate(LIST_FITS), url
    context.close()


def test_staff_pages_are_clean_on_a_phone(chromium, live_server, demo):
    """At 390 x 844 the staff pages have no console error or failed request and the page never
    scrolls sideways (the admin may scroll its changelist table inside its own box)."""
    staff = _staff()
    urls = _staff_urls(demo)
    found = visit_all(
        chromium, live_server, "phone", urls, user=staff, prefix="staff-", boxes_may_scroll=True
    )
    assert found == {}
    assert (SCREENSHOTS / "phone" / "staff-desk.png").exists()
