"""The staff desk (R-SUP-2): queue, assignment, replies, notes, canned replies, close."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Notice
from accounts.roles import ADMIN, SUPPORT
from support.models import CannedReply, Ticket
from support.services import ticket_assign, ticket_open
from tests.catalog.factories import ProviderFactory
from tests.factories import UserFactory
from tests.orders.factories import OrderFactory
from tests.support import helpers

pytestmark = pytest.mark.django_db


def _ticket(user, **fields):
    defaults = {"kind": "other", "subject": "Help", "body": "Please help."}
    return ticket_open(user=user, **{**defaults, **fields})


@pytest.fixture
def agent():
    return helpers.staff_with_role(SUPPORT)


@pytest.fixture
def desk(client, agent):
    client.force_login(agent)
    return client


def _queue_ids(desk, **params) -> list[int]:
    response = desk.get(reverse("desk:queue"), params)
    assert response.status_code == 200
    return [ticket.pk for ticket in response.context["tickets"]]


def test_the_queue_is_oldest_first_and_filters(desk, agent, customer):  # R-SUP-2
    now = timezone.now()
    old = _ticket(customer, kind="payment", subject="Old")
    new = _ticket(customer, kind="api", subject="New")
    mine = _ticket(customer, kind="payment", subject="Mine")
    closed = _ticket(customer, subject="Closed")
    Ticket.objects.filter(pk=old.pk).update(awaiting_since=now - timedelta(days=4))
    Ticket.objects.filter(pk=mine.pk).update(awaiting_since=now - timedelta(hours=5))
    Ticket.objects.filter(pk=closed.pk).update(status="closed", awaiting_since=None)
    ticket_assign(ticket_id=mine.pk, assignee=agent, actor=agent)

    assert _queue_ids(desk) == [old.pk, mine.pk, new.pk]
    assert _queue_ids(desk, status="closed") == [closed.pk]
    assert _queue_ids(desk, kind="payment") == [old.pk, mine.pk]
    assert _queue_ids(desk, assignee="me") == [mine.pk]
    assert _queue_ids(desk, assignee="none") == [old.pk, new.pk]
    assert _queue_ids(desk, assignee=str(agent.pk)) == [mine.pk]
    assert _queue_ids(desk, age="4h") == [old.pk, mine.pk]
    assert _queue_ids(desk, age="3d") == [old.pk]
    page = desk.get(reverse("desk:queue")).content.decode()
    assert "4\xa0days" in page  # unanswered time per ticket


def test_an_agent_assigns_replies_notes_and_closes(
    desk, agent, customer, django_capture_on_commit_callbacks
):  # R-SUP-2
    other = helpers.staff_with_role(SUPPORT)
    ticket = _ticket(customer)
    desk.post(reverse("desk:assign", args=[ticket.pk]), {"to": "me"})
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    desk.post(reverse("desk:assign", args=[ticket.pk]), {"assignee": str(other.pk)})
    ticket.refresh_from_db()
    assert ticket.assignee == other

    with django_capture_on_commit_callbacks(execute=True):
        desk.post(
            reverse("desk:reply", args=[ticket.pk]),
            {"body": "Customer is a reseller", "internal": "on"},
        )
        desk.post(reverse("desk:reply", args=[ticket.pk]), {"body": "Fixed, please check."})
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.ANSWERED
    assert len(mail.outbox) == 1  # the note sent nothing
    assert Notice.objects.filter(user=customer, kind="ticket_reply").count() == 1

    staff_page = desk.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "Customer is a reseller" in staff_page
    assert "Internal note" in staff_page
    customer_client = Client()
    customer_client.force_login(customer)
    customer_page = customer_client.get(reverse("support:detail", args=[ticket.pk]))
    assert "Fixed, please check." in customer_page.content.decode()
    assert "Customer is a reseller" not in customer_page.content.decode()

    desk.post(reverse("desk:close", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED


def test_canned_replies_fill_the_reply(desk, customer):  # R-SUP-2
    canned = CannedReply.objects.create(title="Refill started", body="We started a refill.")
    ticket = _ticket(customer)
    page = desk.get(reverse("desk:ticket", args=[ticket.pk]))
    assert "Refill started" in page.content.decode()
    page = desk.get(reverse("desk:ticket", args=[ticket.pk]), {"canned": canned.pk})
    assert page.context["form"].initial["body"] == "We started a refill."


def test_the_ticket_shows_the_customers_orders(desk, customer):  # R-SUP-2
    provider = ProviderFactory(name="UpstreamOne")
    order = OrderFactory(user=customer, provider=provider, start_count=1500, remains=120)
    order.status = order.Status.IN_PROGRESS
    order.save()
    ticket = _ticket(customer, kind="order", order_ids=[order.pk])
    page = desk.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "UpstreamOne" in page
    assert "1500" in page
    assert "120" in page
    assert "In progress" in page
    assert '<td class="claim-state">—</td>' in page  # not final yet: no claim window


def test_an_admin_cancels_a_ticket_order_through_the_orders_service(client, customer):
    order = OrderFactory(user=customer)
    ticket = _ticket(customer, kind="order", order_ids=[order.pk])
    other_order = OrderFactory(user=customer)
    client.force_login(helpers.staff_with_role(ADMIN))
    url = reverse("desk:order_action", args=[ticket.pk, other_order.pk, "cancel"])
    assert client.post(url).status_code == 404  # only the ticket's own orders


def test_the_desk_is_staff_only_and_csrf_protected(customer, agent):  # R-SUP-2
    visitor = Client()
    assert visitor.get(reverse("desk:queue")).status_code == 302
    visitor.force_login(customer)
    assert visitor.get(reverse("desk:queue")).status_code == 404
    ticket = _ticket(UserFactory())
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(agent)
    response = strict.post(reverse("desk:reply", args=[ticket.pk]), {"body": "x"})
    assert response.status_code == 403
    assert ticket.messages.count() == 1


def test_admin_lists_tickets_read_only(client, customer):  # R-SUP-2
    ticket = _ticket(customer)
    client.force_login(helpers.staff_with_role(ADMIN))
    assert client.get(reverse("admin:support_ticket_changelist")).status_code == 200
    change = client.get(reverse("admin:support_ticket_change", args=[ticket.pk]))
    assert change.status_code == 200
    assert client.get("/admin/support/ticket/add/").status_code == 403
    response = client.post(
        reverse("admin:support_ticket_changelist"),
        {"action": "close_tickets", "_selected_action": [ticket.pk]},
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.CLOSED
    assert ticket.events.last().new_status == "closed"  # through the service, with history
