"""Every customer, visitor and staff page in Chromium on a desktop (1280 x 800) and a phone
(390 x 844), on the demo data (issue 14): no console error, no failed request, no horizontal
scrolling on the phone, every admin list whole at 1280 px. Screenshots go to
var/screenshots/<viewport>/ (the run prints where). One browser and one page per viewport: the
page signs in as the customer, then as nobody, then as staff."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.customer_pages import PAGES, PageWatch, customer_urls, demo_customer

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
LIST_WIDTH = """(() => {
  const box = document.querySelector("#changelist .results");
  return `${box.scrollWidth}px of list in a ${box.clientWidth}px box`;
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
    _sign_in(context, live_server, user)
    return context


def _sign_in(context, live_server, user) -> None:
    """The context's session becomes ``user``'s (none: a visitor)."""
    context.clear_cookies()
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
        )


def _slug(url: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-") or "home"


def visit_all(page, watch, viewport: str, urls: list[str], *, prefix="", staff=False):
    """Open each URL on ``page``; return the problems found, per URL. Staff pages: the admin
    may scroll its changelist table inside its own box on a phone, never on a desktop."""
    folder = SCREENSHOTS / viewport
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for url in urls:
        response = page.goto(url, wait_until="load")
        watch.settle(page)
        problems = watch.take()
        if response is None or response.status != 200:
            problems.append(f"status {response.status if response else None}")
        if not page.evaluate(OVERFLOW):
            wide = page.evaluate("document.documentElement.scrollWidth")
            problems.append(
                f"scrolls sideways: {wide}px wide in a {VIEWPORTS[viewport][0]}px window"
            )
        if viewport == "phone" and not staff and not page.evaluate(TABLES_FIT):
            problems.append("a table is cut off (scrolls inside its box)")
        if viewport == "desktop" and staff and not page.evaluate(LIST_FITS):
            problems.append(f"the list does not fit: {page.evaluate(LIST_WIDTH)}")
        page.screenshot(path=str(folder / f"{prefix}{_slug(url)}.png"), full_page=True)
        if problems:
            found[prefix + url] = problems
    return found


@pytest.fixture
def demo(terms):
    return demo_customer()


def changelist_urls() -> list[str]:
    """Every list of the admin, from its registry: a model added later is visited too."""
    from django.contrib import admin

    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def staff_urls(demo) -> list[str]:
    """Every staff page: the admin's index, every list and the change pages operators live in,
    the desk (queue, a ticket, abuse reports) and the operator dashboard."""
    from catalog.models import Provider, Service
    from orders.models import Order
    from support.models import AbuseReport, Ticket

    order = Order.objects.filter(user=demo).first()
    ticket = Ticket.objects.order_by("pk").first()
    urls = [reverse("admin:index"), *changelist_urls()]
    urls += [
        reverse("admin:accounts_user_change", args=[demo.pk]),
        reverse("admin:orders_order_change", args=[order.pk]),
        reverse("admin:catalog_service_change", args=[Service.objects.order_by("pk")[0].pk]),
        reverse("admin:catalog_provider_change", args=[Provider.objects.order_by("pk")[0].pk]),
        reverse("desk:queue"),
        reverse("desk:abuse"),
        reverse("stats:dashboard"),
    ]
    if ticket is not None:
        urls += [
            reverse("admin:support_ticket_change", args=[ticket.pk]),
            reverse("desk:ticket", args=[ticket.pk]),
        ]
    report = AbuseReport.objects.order_by("pk").first()
    if report is not None:
        urls.append(reverse("desk:abuse_detail", args=[report.pk]))
    return urls


def _staff():
    from allauth.mfa.models import Authenticator

    from tests.factories import StaffFactory

    staff = StaffFactory()  # a superuser: the desk, the admin and the dashboard
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return staff


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_is_clean(chromium, live_server, demo, viewport):
    from legal.models import Document

    for name in PAGES:  # every listed page exists: none is skipped silently
        reverse(name)
    customer = customer_urls(demo)
    assert any("/tickets/" in url for url in customer)  # the demo customer has tickets
    kinds = Document.objects.values_list("kind", flat=True).distinct()
    visitor = VISITOR_PAGES + [f"/legal/{kind}/" for kind in kinds]  # the published ones
    staff = staff_urls(demo)
    assert any("/desk/tickets/" in url for url in staff)  # the demo data has tickets
    assert len(staff) > 50

    context = _context(chromium, live_server, viewport, demo)
    page = context.new_page()
    watch = PageWatch(page)
    try:
        found = visit_all(page, watch, viewport, customer)
        _sign_in(context, live_server, None)
        found |= visit_all(page, watch, viewport, visitor, prefix="visitor-")
        _sign_in(context, live_server, _staff())
        found |= visit_all(page, watch, viewport, staff, prefix="staff-", staff=True)
    finally:
        context.close()
    assert found == {}
    assert (SCREENSHOTS / viewport / "orders.png").exists()
    assert (SCREENSHOTS / viewport / "staff-desk.png").exists()


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
