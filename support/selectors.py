"""Reads of the support app. Ownership is part of the query: someone else's ticket or
screenshot does not exist for a customer (the views answer 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db.models import F, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.selectors import user_has_totp
from orders.models import Order
from support.models import (
    AbuseReport,
    Attachment,
    CannedReply,
    ClaimWindow,
    Ticket,
    TicketMessage,
    TicketStatus,
)


# --- staff --------------------------------------------------------------------------------
def staff_can_work_desk(user) -> bool:
    """Active staff with the desk permission and TOTP (R-ACC-7)."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if settings.STAFF_REQUIRE_TOTP and not user_has_totp(user):
        return False
    return user.has_perm("support.work_desk")


def staff_agents() -> QuerySet:
    """Staff who may work the desk (the Support and Admin roles, superusers): assignees."""
    from django.contrib.auth import get_user_model

    desk = Q(codename="work_desk", content_type__app_label="support")
    return (
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__in=Permission.objects.filter(desk))
            | Q(user_permissions__in=Permission.objects.filter(desk))
        )
        .distinct()
        .order_by("username")
    )


# --- support hours (R-SUP-3) -----------------------------------------------------------------
def support_online(*, now: datetime | None = None) -> bool:
    """Whether ``now`` is inside the support hours (tickets are accepted at any time)."""
    zone = ZoneInfo(settings.SUPPORT_HOURS_TIMEZONE)
    local = (now or timezone.now()).astimezone(zone).time()
    start = time.fromisoformat(settings.SUPPORT_HOURS_START)
    end = time.fromisoformat(settings.SUPPORT_HOURS_END)
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # hours across midnight


# --- customers ----------------------------------------------------------------------------
NOTICE_KIND = "ticket_reply"


def ticket_notices_unread(*, user) -> QuerySet:
    from accounts.models import Notice

    return Notice.objects.filter(user=user, kind=NOTICE_KIND, read_at__isnull=True)


def ticket_notices_unread_count(*, user) -> int:
    return ticket_notices_unread(user=user).count()


def tickets_for_user(*, user) -> QuerySet[Ticket]:
    return Ticket.objects.filter(user=user).order_by("-updated_at", "-id")


def tickets_open_for_user(*, user, limit: int = 5) -> list[Ticket]:
    """The customer's latest tickets that are not closed (the dashboard's list)."""
    return list(tickets_for_user(user=user).exclude(status=Ticket.Status.CLOSED)[:limit])


def ticket_get_for_user(*, user, ticket_id) -> Ticket:
    """The customer's ticket; ``Ticket.DoesNotExist`` for an unknown id or anyone else's."""
    return Ticket.objects.get(pk=ticket_id, user=user)


def _with_attachments(messages: QuerySet) -> QuerySet:
    return messages.select_related("author").prefetch_related(
        Prefetch("attachments", queryset=Attachment.objects.order_by("id"))
    )


def ticket_messages_for_customer(*, ticket: Ticket) -> QuerySet[TicketMessage]:
    """The thread as the customer sees it: never the internal notes."""
    return _with_attachments(ticket.messages.filter(internal=False))


def ticket_messages_for_staff(*, ticket: Ticket) -> QuerySet[TicketMessage]:
    return _with_attachments(ticket.messages.all())


def ticket_orders(*, ticket: Ticket) -> list[Order]:
    return list(
        Order.objects.filter(pk__in=ticket.order_links.values("order_id"))
        .select_related("provider")
        .order_by("pk")
    )


def attachment_get_for_viewer(*, user, attachment_id) -> Attachment:
    """A screenshot its viewer may see: staff of the desk see all; a customer only those in
    the non-internal messages of their own tickets. Otherwise ``Attachment.DoesNotExist``."""
    attachments = Attachment.objects.select_related("message__ticket")
    if staff_can_work_desk(user):
        return attachments.get(pk=attachment_id)
    if not user.is_authenticated:
        raise Attachment.DoesNotExist
    return attachments.get(pk=attachment_id, message__ticket__user=user, message__internal=False)


# --- claim windows (R-ORD-14) --------------------------------------------------------------
@dataclass(frozen=True)
class ClaimState:
    has_claims: bool  # False: overlapped (R-ORD-12), beta (R-CAT-5) or not final yet
    open: bool
    closes_at: datetime | None
    reason: str = ""


def claim_state(*, order: Order, now: datetime | None = None) -> ClaimState:
    """What the order page says about claims."""
    now = now or timezone.now()
    if order.overlapped:
        return ClaimState(False, False, None, "overlapped another order: no claims (R-ORD-12)")
    if order.beta:
        return ClaimState(False, False, None, "beta service: no claims")
    window = ClaimWindow.objects.filter(order_id=order.pk).first()
    if window is None:
        return ClaimState(False, False, None, "")
    is_open = window.closed_at is None and now < window.closes_at
    return ClaimState(True, is_open, window.closes_at)


# --- the desk queue (R-SUP-2) --------------------------------------------------------------
AGES = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "24h": timedelta(days=1),
        "3d": timedelta(days=3)}  # fmt: skip
ACTIVE = "active"  # every status but Closed


@dataclass(frozen=True)
class QueueFilters:
    status: str = ACTIVE
    kind: str = ""
    assignee: str = ""  # "", "me", "none" or a staff user id
    age: str = ""  # a key of AGES: waiting for an answer at least that long


def desk_queue(*, filters: QueueFilters, user, now: datetime | None = None) -> QuerySet[Ticket]:
    """Tickets for the desk, the longest-waiting first, then the oldest."""
    now = now or timezone.now()
    tickets = Ticket.objects.select_related("user", "assignee")
    if filters.status == ACTIVE:
        tickets = tickets.exclude(status=TicketStatus.CLOSED)
    elif filters.status in TicketStatus.values:
        tickets = tickets.filter(status=filters.status)
    if filters.kind in Ticket.Kind.values:
        tickets = tickets.filter(kind=filters.kind)
    if filters.assignee == "me":
        tickets = tickets.filter(assignee=user)
    elif filters.assignee == "none":
        tickets = tickets.filter(assignee__isnull=True)
    elif filters.assignee.isdigit():
        tickets = tickets.filter(assignee_id=int(filters.assignee))
    if filters.age in AGES:
        tickets = tickets.filter(awaiting_since__lte=now - AGES[filters.age])
    return tickets.order_by(F("awaiting_since").asc(nulls_last=True), "created_at", "id")


def canned_replies(*, kind: str = "") -> list[CannedReply]:
    replies = CannedReply.objects.filter(is_active=True)
    return sorted(replies, key=lambda reply: (reply.kind != kind, reply.kind != "", reply.title))


def abuse_queue(*, status: str = "") -> QuerySet[AbuseReport]:
    reports = AbuseReport.objects.prefetch_related("attachments")
    if status in AbuseReport.Status.values:
        reports = reports.filter(status=status)
    else:
        reports = reports.filter(
            Q(status=AbuseReport.Status.NEW) | Q(status=AbuseReport.Status.INVESTIGATING)
        )
    return reports.order_by("created_at", "id")
