"""A ticket from the customer to the desk and back, in Chromium (R-SUP-1, R-SUP-2)."""

import re

import pytest
from allauth.mfa.totp.internal.auth import (
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.core import mail
from PIL import Image

from accounts.roles import SUPPORT
from support.models import Attachment, Ticket
from tests.factories import PASSWORD
from tests.orders.factories import OrderFactory
from tests.support.helpers import TOTP_SECRET, finish, staff_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, username, *, totp_secret=None):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form button[type=submit]")
    if totp_secret:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        code = format_hotp_value(hotp_value(totp_secret, next(yield_hotp_counters_from_time())))
        page.fill("input[name=code]", code)
        page.click("form button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/"))


def _screenshot(tmp_path):
    path = tmp_path / "delivery.png"
    Image.new("RGB", (320, 200), (30, 140, 60)).save(path, format="PNG")
    return path


def test_a_ticket_with_a_screenshot_goes_to_the_desk_and_back(
    page, chromium, live_server, customer, tmp_path
):  # R-SUP-1, R-SUP-2
    order = finish(OrderFactory(user=customer))
    agent = staff_with_role(SUPPORT)

    # The customer (the page fixture: any CSP violation fails the test) opens a ticket
    # about the order, with a screenshot.
    _sign_in(page, customer.username)
    page.goto(f"/orders/{order.pk}/")
    assert "claims open until" in page.locator("#claim-window").inner_text()
    page.click("#claim-window a")
    page.wait_for_url(re.compile(r"/tickets/new/"))
    assert "10:00-23:00 SGT" in page.locator("#support-hours").inner_text()
    assert page.locator("#id_order_ids").input_value() == str(order.pk)
    page.select_option("#id_problem", "wrong_quantity")
    page.fill("#id_subject", "Only half of my followers arrived")
    page.fill("#id_body", "I ordered 1000 and see about 500.")
    page.set_input_files("#id_screenshots", str(_screenshot(tmp_path)))
    page.click("#ticket-form button[type=submit]")
    page.wait_for_url(re.compile(r"/tickets/\d+/$"))
    ticket = Ticket.objects.get()
    assert page.locator(".ticket-attachments img").count() == 1
    assert Attachment.objects.get(message__ticket=ticket).width == 320

    # The agent signs in with TOTP, finds it in the queue, assigns it and replies.
    agent_ctx = chromium.new_context(base_url=live_server.url)
    agent_ctx.set_default_timeout(15_000)
    desk = agent_ctx.new_page()
    violations = []
    desk.on("console", lambda m: violations.append(m.text) if "Content Security" in m.text else 0)
    _sign_in(desk, agent.username, totp_secret=TOTP_SECRET)
    desk.goto("/desk/?assignee=none")
    row = desk.locator(f"tr.queue-row[data-ticket='{ticket.pk}']")
    assert "Only half of my followers arrived" in row.inner_text()
    assert "claim" in row.inner_text()
    row.locator("a").first.click()
    desk.wait_for_url(re.compile(rf"/desk/tickets/{ticket.pk}/"))
    assert str(order.pk) in desk.locator("#desk-orders").inner_text()
    # The screenshot loads for staff too (an image the browser could decode).
    assert desk.locator(".ticket-attachments img").evaluate("img => img.naturalWidth") == 320
    desk.click("#assign-me")
    assert desk.locator("#assignee").inner_text() == agent.username
    desk.fill("#id_body", "We are topping up the missing 500 now.")
    desk.click("#staff-reply-form button[type=submit]")
    assert desk.locator("#ticket-status").inner_text() == "Answered"

    # The customer sees the notice and the reply.
    page.goto("/tickets/")
    assert page.locator("#tickets-unread").inner_text() == "1"
    assert f"Support replied to ticket #{ticket.pk}" in page.locator("#ticket-notices").inner_text()
    page.locator("#ticket-notices a").first.click()
    page.wait_for_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    assert "We are topping up the missing 500 now." in page.locator("#ticket-thread").inner_text()
    assert page.locator("#ticket-status").inner_text() == "Answered"
    assert page.locator("#tickets-unread").count() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [customer.email]
    agent_ctx.close()
    assert not violations
