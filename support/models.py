"""Tickets, their messages and screenshots, claim windows, canned replies and abuse reports.

A ticket's status moves only through ``support.services.ticket_transition`` (the moves are
``TRANSITIONS`` below) and every move leaves a ``TicketEvent``; an abuse report has its own
statuses, moved the same way (``ABUSE_TRANSITIONS``, ``AbuseEvent``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from support.storage import attachment_storage


class TicketKind(models.TextChoices):
    # R-SUP-1: the subject types a customer chooses from.
    ORDER = "order", _("Order")
    PAYMENT = "payment", _("Payment")
    REFILL = "refill", _("Refill")
    CANCEL = "cancel", _("Cancel")
    API = "api", _("API")
    OTHER = "other", _("Other")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ANSWERED = "answered", _("Answered")
    CUSTOMER_REPLY = "customer_reply", _("Customer reply")
    CLOSED = "closed", _("Closed")


class ClaimProblem(models.TextChoices):
    """R-ORD-14: a problem with an order is a claim, accepted only inside its claim window."""

    NONE = "", _("No problem with delivery: a question")
    NON_DELIVERY = "non_delivery", _("Not delivered")
    WRONG_QUANTITY = "wrong_quantity", _("Wrong quantity")
    MISMATCH = "mismatch", _("Does not match the service description")
    REFUND = "refund", _("I ask for a refund of this order")  # R-WDR-6


# The moves a ticket may make. A customer's reply reopens a closed ticket; a staff reply
# to a closed ticket answers it again.
TRANSITIONS: dict[str, frozenset[str]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.ANSWERED, TicketStatus.CLOSED}),
    TicketStatus.ANSWERED: frozenset({TicketStatus.CUSTOMER_REPLY, TicketStatus.CLOSED}),
    TicketStatus.CUSTOMER_REPLY: frozenset({TicketStatus.ANSWERED, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset({TicketStatus.CUSTOMER_REPLY, TicketStatus.ANSWERED}),
}


class Ticket(models.Model):
    Kind = TicketKind
    Status = TicketStatus
    Problem = ClaimProblem

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tickets"
    )
    kind = models.CharField("subject type", max_length=16, choices=TicketKind.choices)
    subject = models.CharField(max_length=150)
    problem = models.CharField(max_length=20, choices=ClaimProblem.choices, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Since when the customer waits for an answer (None: staff answered, or closed).
    awaiting_since = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("work_desk", "Can work the support desk"),
            ("order_money_actions", "Can cancel or mark Partial a ticket's orders (returns money)"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=TicketStatus.values), name="support_ticket_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=TicketKind.values), name="support_ticket_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-id"], name="support_ticket_user"),
            models.Index(fields=["status", "awaiting_since"], name="support_ticket_queue"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_claim(self) -> bool:
        return bool(self.problem)


class TicketEvent(models.Model):
    """A ticket's history: each status move, assignment and close, with who did it."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    old_status = models.CharField(max_length=16, choices=TicketStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=TicketStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.old_status or '-'} → {self.new_status}"


class TicketMessage(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    from_staff = models.BooleanField(default=False)
    # An internal note: staff only, never shown to the customer.
    internal = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(internal=False) | Q(from_staff=True),
                name="support_message_internal_is_staff",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} message {self.pk}"


class TicketOrder(models.Model):
    """An order a ticket is about (checked to be the customer's when linked)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="order_links")
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "order"], name="support_ticket_order_once")
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} about order #{self.order_id}"


class AbuseStatus(models.TextChoices):
    NEW = "new", _("New")
    INVESTIGATING = "investigating", _("Investigating")
    ACTIONED = "actioned", _("Action taken")
    REJECTED = "rejected", _("No violation found")


ABUSE_TRANSITIONS: dict[str, frozenset[str]] = {
    AbuseStatus.NEW: frozenset(
        {AbuseStatus.INVESTIGATING, AbuseStatus.ACTIONED, AbuseStatus.REJECTED}
    ),
    AbuseStatus.INVESTIGATING: frozenset({AbuseStatus.ACTIONED, AbuseStatus.REJECTED}),
    AbuseStatus.ACTIONED: frozenset({AbuseStatus.INVESTIGATING}),
    AbuseStatus.REJECTED: frozenset({AbuseStatus.INVESTIGATING}),
}


class AbuseReport(models.Model):
    """R-SUP-4: a violation reported by anyone, in its own queue."""

    Status = AbuseStatus

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    email = models.EmailField(blank=True, help_text="Where to reach the reporter, if given.")
    link = models.CharField(max_length=2000, blank=True)
    order_reference = models.CharField(max_length=64, blank=True)
    description = models.TextField()
    status = models.CharField(max_length=16, choices=AbuseStatus.choices, default=AbuseStatus.NEW)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("handle_abuse", "Can work the abuse queue")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AbuseStatus.values), name="support_abuse_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Abuse report #{self.pk}"


class AbuseEvent(models.Model):
    report = models.ForeignKey(AbuseReport, on_delete=models.CASCADE, related_name="events")
    old_status = models.CharField(max_length=16, choices=AbuseStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=AbuseStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Report #{self.report_id}: {self.old_status or '-'} → {self.new_status}"


class Attachment(models.Model):
    """A screenshot, re-encoded without its metadata, in private storage (never public)."""

    message = models.ForeignKey(
        TicketMessage, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    abuse_report = models.ForeignKey(
        AbuseReport, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(storage=attachment_storage, upload_to="attachments/%Y/%m/")
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(message__isnull=False, abuse_report__isnull=True)
                | Q(message__isnull=True, abuse_report__isnull=False),
                name="support_attachment_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name or f"attachment {self.pk}"

    @property
    def download_name(self) -> str:
        extension = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif"}.get(
            self.content_type, "webp"
        )
        return f"screenshot-{self.pk}.{extension}"


class ClaimWindow(models.Model):
    """R-ORD-14: the due row of an order's claim window, opened when it ends Completed or
    Partial, closed by the beat (``support.claim_windows_close``) once ``closes_at`` passes."""

    order = models.OneToOneField(
        "orders.Order", on_delete=models.CASCADE, related_name="claim_window"
    )
    opened_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["closes_at"],
                condition=Q(closed_at__isnull=True),
                name="support_claim_window_due",
            )
        ]

    def __str__(self) -> str:
        return f"Claim window of order #{self.order_id}"


class CannedReply(models.Model):
    """A prepared answer staff pick in the desk; edited in the admin."""

    title = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    kind = models.CharField(
        max_length=16,
        choices=TicketKind.choices,
        blank=True,
        help_text="Offered first for tickets of this type (empty: all).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "canned replies"

    def __str__(self) -> str:
        return self.title
