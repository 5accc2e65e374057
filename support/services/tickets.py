"""Tickets (R-SUP-1..3, R-ORD-14, R-WDR-6): open, reply, assign, close.

Every status move goes through ``ticket_transition`` (``support.models.TRANSITIONS``) and
writes a ``TicketEvent``. Screenshots are cleaned before anything is written. A staff reply
(not an internal note) tells the customer through ``accounts.services.notice_send``: an
in-account notice and one mail, sent by Celery after commit.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts.notices import notice_text
from accounts.services import notice_send
from orders.selectors import orders_for_user_by_ids
from support.exceptions import InvalidTicketTransition, OrderIdsRefused, SupportRefused
from support.images import images_clean
from support.models import (
    TRANSITIONS,
    Ticket,
    TicketEvent,
    TicketMessage,
    TicketOrder,
    TicketStatus,
)
from support.selectors import NOTICE_KIND
from support.services.attachments import attachments_store
from support.services.claims import claim_check

MAX_ORDER_IDS = 20


def order_ids_parse(text: str | list) -> list[int]:
    """``"12, #13 14"`` -> ``[12, 13, 14]``; anything else is a clear refusal."""
    if isinstance(text, list):
        text = " ".join(str(part) for part in text)
    ids: list[int] = []
    for token in re.split(r"[\s,;]+", (text or "").strip()):
        if not token:
            continue
        digits = token.removeprefix("#")
        if not digits.isdigit() or len(digits) > 12:
            raise OrderIdsRefused(
                gettext("“%(token)s” is not an order id; give numbers like 1234.")
                % {"token": token[:20]}
            )
        if int(digits) not in ids:
            ids.append(int(digits))
    if len(ids) > MAX_ORDER_IDS:
        raise OrderIdsRefused(
            gettext("Give at most %(most)s order ids per ticket.") % {"most": MAX_ORDER_IDS}
        )
    return ids


def _customer_orders(*, user, order_ids: list[int]) -> list:
    """The customer's orders with these ids. An unknown id and someone else's get the same
    answer, so the form never tells whether an order exists."""
    found = orders_for_user_by_ids(user=user, ids=order_ids)
    missing = [order_id for order_id in order_ids if order_id not in found]
    if missing:
        listed = ", ".join(f"#{order_id}" for order_id in missing)
        raise OrderIdsRefused(
            gettext("Not among your orders: %(listed)s. Check the ids on your Orders page.")
            % {"listed": listed}
        )
    return [found[order_id] for order_id in order_ids]


def ticket_transition(*, ticket: Ticket, new: str, actor=None, note: str = "") -> TicketEvent:
    """Move a locked ``ticket`` to ``new`` (refused unless ``TRANSITIONS`` allows it), save it
    with its other changed fields and write the history row."""
    old = ticket.status
    if new not in TRANSITIONS[old]:
        raise InvalidTicketTransition(
            f"Ticket #{ticket.pk} is {TicketStatus(old).label}; "
            f"it cannot become {TicketStatus(new).label}."
        )
    ticket.status = new
    if new == TicketStatus.CLOSED:
        ticket.closed_at = timezone.now()
        ticket.awaiting_since = None
    else:
        ticket.closed_at = None
    ticket.save()
    return TicketEvent.objects.create(
        ticket=ticket, old_status=old, new_status=new, actor=actor, note=note[:300]
    )


def _locked(ticket_id: int) -> Ticket:
    # The ticket row only (``OF self``): never the customer's row joined in.
    return (
        Ticket.objects.select_for_update(no_key=True, of=("self",))
        .select_related("user")
        .get(pk=ticket_id)
    )


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise SupportRefused(gettext("Write a message."), field="body")
    return body


def ticket_open(
    *,
    user,
    kind: str,
    subject: str,
    body: str,
    order_ids: list[int] | None = None,
    problem: str = "",
    uploads=(),
) -> Ticket:
    """Open a ticket (R-SUP-1). Order ids must be the customer's; a claim (``problem``) needs
    its orders inside their claim windows (R-ORD-14, R-WDR-6). Accepted at any hour (R-SUP-3)."""
    body = _body(body)
    subject = (subject or "").strip()[:150]
    if not subject:
        raise SupportRefused(gettext("Give the ticket a subject."), field="subject")
    if kind not in Ticket.Kind.values:
        raise SupportRefused(gettext("Choose a subject type."), field="kind")
    if problem and problem not in Ticket.Problem.values:
        raise SupportRefused(gettext("Choose the problem from the list."), field="problem")
    refund_request = problem == Ticket.Problem.REFUND and kind == Ticket.Kind.PAYMENT
    if problem and kind != Ticket.Kind.ORDER and not refund_request:
        raise SupportRefused(
            gettext("A problem with delivery is a ticket about an order."), field="kind"
        )
    orders = _customer_orders(user=user, order_ids=list(order_ids or []))
    if problem:
        if not orders:
            raise OrderIdsRefused(gettext("Give the id of the order the claim is about."))
        for order in orders:
            claim_check(order=order)
    images = images_clean(uploads=uploads)
    with transaction.atomic():
        now = timezone.now()
        ticket = Ticket.objects.create(
            user=user, kind=kind, subject=subject, problem=problem, awaiting_since=now
        )
        TicketEvent.objects.create(ticket=ticket, new_status=ticket.status, actor=user)
        TicketOrder.objects.bulk_create([TicketOrder(ticket=ticket, order=o) for o in orders])
        message = TicketMessage.objects.create(ticket=ticket, author=user, body=body)
        attachments_store(images=images, message=message)
    return ticket


def ticket_reply_customer(*, user, ticket_id: int, body: str, uploads=()) -> TicketMessage:
    """The customer writes in their ticket; a closed or answered ticket is (re)opened as
    Customer reply. Someone else's ticket raises ``Ticket.DoesNotExist``."""
    body = _body(body)
    images = images_clean(uploads=uploads)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).get(pk=ticket_id, user=user)
        message = TicketMessage.objects.create(ticket=ticket, author=user, body=body)
        attachments_store(images=images, message=message)
        if ticket.awaiting_since is None:
            ticket.awaiting_since = timezone.now()
        if ticket.status in (TicketStatus.ANSWERED, TicketStatus.CLOSED):
            note = "Reopened by the customer's reply." if ticket.status == "closed" else ""
            ticket_transition(ticket=ticket, new=TicketStatus.CUSTOMER_REPLY, actor=user, note=note)
        else:
            ticket.save(update_fields=["awaiting_since", "updated_at"])
    return message


def ticket_reply_staff(
    *, ticket_id: int, actor, body: str, internal: bool = False, uploads=()
) -> TicketMessage:
    """Staff answer (R-SUP-2): the ticket becomes Answered and the customer is told once, by
    notice and mail after commit. An internal note changes nothing the customer sees."""
    body = _body(body)
    images = images_clean(uploads=uploads)
    with transaction.atomic():
        ticket = _locked(ticket_id)
        message = TicketMessage.objects.create(
            ticket=ticket, author=actor, body=body, from_staff=True, internal=internal
        )
        attachments_store(images=images, message=message)
        if internal:
            return message
        if ticket.assignee_id is None:
            ticket.assignee = actor
        ticket.awaiting_since = None
        if ticket.status != TicketStatus.ANSWERED:
            ticket_transition(ticket=ticket, new=TicketStatus.ANSWERED, actor=actor)
        else:
            ticket.save()
        notice_send(
            user=ticket.user,
            kind=NOTICE_KIND,
            subject=notice_text(
                gettext_noop("Support replied to ticket #%(number)s: %(subject)s"),
                number=ticket.pk,
                subject=ticket.subject,
            ),
            body=body,
            url=reverse("support:detail", args=[ticket.pk]),
        )
    return message


def ticket_assign(*, ticket_id: int, assignee, actor) -> Ticket:
    """Give the ticket to an agent (or nobody); the history says who did it."""
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if assignee is not None and not (
            assignee.is_active and assignee.is_staff and assignee.has_perm("support.work_desk")
        ):
            raise SupportRefused(
                "Tickets can be assigned to desk staff only (Support or Admin).", field="assignee"
            )
        if ticket.assignee_id == (assignee.pk if assignee else None):
            return ticket
        ticket.assignee = assignee
        ticket.save(update_fields=["assignee", "updated_at"])
        note = f"Assigned to {assignee.username}." if assignee else "Unassigned."
        TicketEvent.objects.create(
            ticket=ticket,
            old_status=ticket.status,
            new_status=ticket.status,
            actor=actor,
            note=note,
        )
    return ticket


def ticket_close(*, ticket_id: int, actor, user=None) -> Ticket:
    """Close a ticket: staff (``actor``) or its customer (``user``, ownership checked)."""
    with transaction.atomic():
        lookup = {"pk": ticket_id} if user is None else {"pk": ticket_id, "user": user}
        ticket = Ticket.objects.select_for_update(no_key=True).get(**lookup)
        if ticket.status == TicketStatus.CLOSED:
            return ticket
        ticket_transition(ticket=ticket, new=TicketStatus.CLOSED, actor=actor or user)
    return ticket
