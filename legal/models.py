from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Document(models.Model):
    """One version of a legal page: Terms, Acceptable Use or Privacy (R-LEG-1).

    Staff write a *draft* (no version number) in the admin, preview it, and publish it with
    ``legal.services.document_draft_publish``, which assigns the next version number. A
    published version is never edited in place: the admin shows it read-only, and a change is
    a new draft.
    """

    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms of Service")
        AUP = "aup", _("Acceptable Use Policy")
        PRIVACY = "privacy", _("Privacy Policy")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.PositiveIntegerField(
        null=True, blank=True, editable=False, help_text="Assigned when published."
    )
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_at = models.DateTimeField(
        null=True, blank=True, help_text="When it takes effect (publishing defaults it to now)."
    )
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    material = models.BooleanField(
        default=False, help_text="A material change must be accepted again (R-LEG-2)."
    )

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="legal_document_kind_version"),
            models.CheckConstraint(
                condition=Q(version__isnull=True, published_at__isnull=True)
                | Q(version__isnull=False, published_at__isnull=False, effective_at__isnull=False),
                name="legal_document_published_has_version",
            ),
        ]

    def __str__(self) -> str:
        if self.version is None:
            return f"{self.get_kind_display()} (draft)"
        return f"{self.get_kind_display()} v{self.version}"

    @property
    def is_published(self) -> bool:
        return self.version is not None


class Acceptance(models.Model):
    """A user's acceptance of one document version, with its time and IP (R-ACC-1, R-LEG-2)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="acceptances"
    )
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="acceptances")
    accepted_at = models.DateTimeField()
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "document"], name="legal_acceptance_once"),
        ]

    def __str__(self) -> str:
        return f"{self.user} accepted {self.document}"


class Hold(models.Model):
    """An order or a whole account held under investigation (R-AUP-2).

    A held order is not sent to a provider (orders already with one are still polled); a held
    account cannot order, its API key is refused (R-KEY-3) and its unsent orders wait. The
    balance and the orders stay as they are: they are the evidence. Staff end a hold by
    releasing it (everything goes on), rejecting (an order is canceled with a full return, an
    account is suspended) or canceling (an order is canceled with a full return, an account
    is closed); each move is a ``HoldEvent``. Written only by ``legal.services.hold_*``.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("On hold")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", _("Rejected")
        CANCELED = "canceled", _("Canceled")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "released", "rejected", "canceled"]),
                name="legal_hold_status_valid",
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status="open", order__isnull=False),
                name="legal_hold_one_open_per_order",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(status="open", order__isnull=True),
                name="legal_hold_one_open_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["user"], condition=Q(status="open"), name="legal_hold_open_user")
        ]

    def __str__(self) -> str:
        target = f"order #{self.order_id}" if self.order_id else f"account {self.user}"
        return f"Hold on {target} ({self.get_status_display()})"

    @property
    def is_account_hold(self) -> bool:
        return self.order_id is None


# R-AUP-2: the moves a hold may make, as data (``legal.services.hold_transition``).
HOLD_TRANSITIONS = {
    Hold.Status.OPEN: {Hold.Status.RELEASED, Hold.Status.REJECTED, Hold.Status.CANCELED},
}


class HoldEvent(models.Model):
    """Each step of an investigation, kept as evidence: opened, then how it ended, by whom."""

    hold = models.ForeignKey(Hold, on_delete=models.CASCADE, related_name="events")
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16)
    note = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.hold}: {self.old_status or '-'} → {self.new_status}"


class DataExport(models.Model):
    """A customer's copy of their data (R-PRV-3): a ZIP of JSON files, one per kind, built by
    the Celery task ``legal.data_export_build``; downloaded through a signed link that expires
    after ``PRIVACY_EXPORT_LINK_HOURS``."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.CharField(max_length=200, blank=True, help_text="What is being done now.")
    archive = models.BinaryField(null=True, blank=True, editable=False)
    size = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="data_export_user")]

    def __str__(self) -> str:
        return f"Data export #{self.pk} of {self.user} ({self.get_status_display()})"


class PrivacyRequest(models.Model):
    """A customer's request to correct or delete their data (R-PRV-3), kept as a record."""

    class Kind(models.TextChoices):
        CORRECTION = "correction", _("Correction")
        DELETION = "deletion", _("Deletion")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} request of {self.user}"
