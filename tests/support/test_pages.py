"""The customer's ticket pages and the screenshot view (R-SUP-1, R-SUP-3)."""

import pytest
from django.urls import reverse

from support.models import Attachment, Ticket
from support.services import ticket_open, ticket_reply_staff
from tests.factories import StaffFactory, UserFactory
from tests.orders.factories import OrderFactory
from tests.support import helpers

pytestmark = pytest.mark.django_db


def _ticket(user, **fields):
    defaults = {"kind": "other", "subject": "Help", "body": "Please help."}
    return ticket_open(user=user, **{**defaults, **fields})


def test_the_form_shows_support_hours_and_opens_a_ticket(client, customer, settings):  # R-SUP-3
    settings.SUPPORT_HOURS = "10:00-23:00 SGT"
    order = OrderFactory(user=customer)
    client.force_login(customer)
    page = client.get(reverse("support:new"))
    assert "10:00-23:00 SGT" in page.content.decode()
    assert "accepted at any time" in page.content.decode()
    response = client.post(
        reverse("support:new"),
        {
            "kind": "order",
            "subject": "Order stuck",
            "order_ids": f"#{order.pk}",
            "body": "It has not started.",
            "screenshots": [helpers.png(), helpers.png("second.png")],
        },
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("support:detail", args=[ticket.pk])
    assert Attachment.objects.filter(message__ticket=ticket).count() == 2
    listing = client.get(reverse("support:list")).content.decode()
    assert "Order stuck" in listing


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (helpers.php_as_png, "is not a PNG, JPEG, GIF or WebP image"),
        (helpers.svg_with_script, "is not a PNG, JPEG, GIF or WebP image"),
        (helpers.bomb_png, "is too large in pixels"),
    ],
)
def test_bad_files_are_refused_next_to_the_field(client, customer, upload, message):  # R-SUP-1
    client.force_login(customer)
    response = client.post(
        reverse("support:new"),
        {"kind": "other", "subject": "See", "body": "Look.", "screenshots": [upload()]},
    )
    assert response.status_code == 200
    assert message in response.context["form"].errors["screenshots"][0]
    assert not Ticket.objects.exists()


def test_foreign_order_ids_are_refused_next_to_the_field(client, customer):  # R-SUP-1
    theirs = OrderFactory(user=UserFactory())
    client.force_login(customer)
    response = client.post(
        reverse("support:new"),
        {"kind": "order", "subject": "S", "body": "B", "order_ids": str(theirs.pk)},
    )
    assert response.context["form"].errors["order_ids"] == [
        f"Not among your orders: #{theirs.pk}. Check the ids on your Orders page."
    ]


def test_another_customers_ticket_is_a_404(client, customer):  # R-SUP-1
    theirs = _ticket(UserFactory())
    client.force_login(customer)
    assert client.get(reverse("support:detail", args=[theirs.pk])).status_code == 404
    reply = client.post(reverse("support:detail", args=[theirs.pk]), {"body": "hi"})
    assert reply.status_code == 404
    assert client.post(reverse("support:close", args=[theirs.pk])).status_code == 404
    assert theirs.messages.count() == 1


def test_screenshots_are_served_only_to_the_owner_and_staff(client, customer):  # R-SUP-1
    ticket = _ticket(customer, uploads=[helpers.png()])
    attachment = Attachment.objects.get(message__ticket=ticket)
    url = reverse("support:attachment", args=[attachment.pk])

    client.force_login(customer)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Disposition"] == f'inline; filename="screenshot-{attachment.pk}.png"'
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 404
    # Staff without TOTP do not see it either (R-ACC-7); with TOTP and the desk role they do.
    agent = helpers.staff_with_role("Support", totp=False)
    client.force_login(agent)
    assert client.get(url).status_code == 404
    client.force_login(helpers.staff_with_role("Support"))
    assert client.get(url).status_code == 200


def test_internal_note_screenshots_are_never_the_customers(client, customer):  # R-SUP-2
    ticket = _ticket(customer)
    ticket_reply_staff(
        ticket_id=ticket.pk,
        actor=StaffFactory(),
        body="Evidence from the provider",
        internal=True,
        uploads=[helpers.png()],
    )
    attachment = Attachment.objects.get(message__internal=True)
    client.force_login(customer)
    page = client.get(reverse("support:detail", args=[ticket.pk])).content.decode()
    assert "Evidence from the provider" not in page
    assert client.get(reverse("support:attachment", args=[attachment.pk])).status_code == 404


def test_the_customer_sees_replies_and_reopens_by_replying(client, customer):  # R-SUP-2
    ticket = _ticket(customer)
    ticket_reply_staff(ticket_id=ticket.pk, actor=StaffFactory(), body="We refilled it.")
    client.force_login(customer)
    page = client.get(reverse("support:detail", args=[ticket.pk])).content.decode()
    assert "We refilled it." in page
    assert "Answered" in page
    client.post(reverse("support:close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    client.post(reverse("support:detail", args=[ticket.pk]), {"body": "Dropped again."})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CUSTOMER_REPLY


def test_the_nav_links_to_tickets_and_the_footer_to_abuse_reports(client, customer):
    client.force_login(customer)
    page = client.get(reverse("support:list")).content.decode()
    assert "opens soon" not in page
    assert reverse("support:list") in page
    assert reverse("abuse:report") in page


def test_a_staff_reply_shows_as_a_notice_until_read(client, customer):  # R-SUP-2
    ticket = _ticket(customer, subject="Where is my refill")
    ticket_reply_staff(ticket_id=ticket.pk, actor=StaffFactory(), body="On its way.")
    client.force_login(customer)
    listing = client.get(reverse("support:list")).content.decode()
    assert 'id="tickets-unread"' in listing
    assert f"Support replied to ticket #{ticket.pk}: Where is my refill" in listing
    client.get(reverse("support:detail", args=[ticket.pk]))
    listing = client.get(reverse("support:list")).content.decode()
    assert 'id="tickets-unread"' not in listing
    assert "Support replied to ticket" not in listing


def test_support_hours_are_a_setting_and_tickets_come_at_any_time(
    client, customer, settings
):  # R-SUP-3
    from datetime import UTC, datetime

    from support.selectors import support_online

    settings.SUPPORT_HOURS_TIMEZONE = "Asia/Singapore"
    # 10:00 SGT is 02:00 UTC; 23:00 SGT is 15:00 UTC.
    assert not support_online(now=datetime(2026, 1, 5, 1, 59, tzinfo=UTC))
    assert support_online(now=datetime(2026, 1, 5, 2, 0, tzinfo=UTC))
    assert support_online(now=datetime(2026, 1, 5, 14, 59, tzinfo=UTC))
    assert not support_online(now=datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    # Outside the hours (an empty window), the form still takes the ticket.
    settings.SUPPORT_HOURS_START = settings.SUPPORT_HOURS_END = "00:00"
    client.force_login(customer)
    page = client.get(reverse("support:new")).content.decode()
    assert "outside support hours now" in page
    client.post(reverse("support:new"), {"kind": "other", "subject": "Night", "body": "Hello"})
    assert Ticket.objects.filter(subject="Night").exists()


def test_new_tickets_are_rate_limited_per_account(client, customer, settings):  # R-AUP-4
    settings.SUPPORT_TICKET_RATE_LIMIT = "2/h"
    client.force_login(customer)
    for n in range(3):
        response = client.post(
            reverse("support:new"), {"kind": "other", "subject": f"S{n}", "body": "B"}
        )
    assert "Too many messages" in str(response.context["form"].errors)
    assert Ticket.objects.count() == 2
