"""Orders, their history, and the staff's list of blocked link patterns (R-ORD-*, R-AUP-1).

An order keeps what was live when it was placed (R-CAT-2): the customer's rate, the
service's limits and flags. Its ``status`` is what the customer sees (API v2 labels);
``relay_state`` is the panel's side of it: sent to a provider or not, waiting for a
retry, or waiting for staff (R-ORD-4: staff see provider-side failure states that the
customer sees as Pending).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import MD5, Abs
from django.db.models.lookups import LessThan
from django.utils.translation import gettext_lazy as _

from billing.money import HALF_PLACE, MoneyField
from catalog.links import MAX_LINK_LENGTH
from catalog.models import Service


class OrderStatus(models.TextChoices):
    # The labels are the API v2 status strings, sent as they are.
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    PROCESSING = "processing", _("Processing")
    COMPLETED = "completed", _("Completed")
    PARTIAL = "partial", _("Partial")
    CANCELED = "canceled", _("Canceled")


ACTIVE_STATUSES = (OrderStatus.PENDING, OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING)
FINAL_STATUSES = (OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED)

# R-ORD-4: the moves an order may make; a final status never changes again.
TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset(
        {
            OrderStatus.IN_PROGRESS,
            OrderStatus.PROCESSING,
            OrderStatus.COMPLETED,
            OrderStatus.PARTIAL,
            OrderStatus.CANCELED,
        }
    ),
    OrderStatus.IN_PROGRESS: frozenset(
        {OrderStatus.PROCESSING, OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED}
    ),
    OrderStatus.PROCESSING: frozenset(
        {OrderStatus.IN_PROGRESS, OrderStatus.COMPLETED, OrderStatus.PARTIAL, OrderStatus.CANCELED}
    ),
    OrderStatus.COMPLETED: frozenset(),
    OrderStatus.PARTIAL: frozenset(),
    OrderStatus.CANCELED: frozenset(),
}


class RelayState(models.TextChoices):
    """Where the order is between the panel and its provider (staff only)."""

    QUEUED = "queued", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    PLACED = "placed", _("Placed with the provider")
    RECONCILE = "reconcile", _("Needs reconciliation")  # an `add` that may or may not have landed
    FAILED = "failed", _("Failed to send")  # every route tried; staff resend or cancel
    MANUAL = "manual", _("Manual service (staff)")
    CLOSED = "closed", _("Closed before sending")  # canceled before any provider had it
    # Placed, but Pending at the provider beyond ORDERS_PROVIDER_PENDING_MAX_HOURS: some panels
    # show their internal failed or waiting states as Pending forever. Still polled.
    STUCK = "stuck", _("Stuck at the provider")
    # R-ORD-10, R-ORD-11: the panel runs the order in parts (drip-feed portions, subscription
    # cycles); the parent is never sent, its parts are, each through the relay.
    PARENT = "parent", _("Sent in parts (portions or cycles)")
    SCHEDULED = "scheduled", _("Waiting for its turn (drip-feed)")  # a portion not yet due


STAFF_QUEUE_STATES = (
    RelayState.RECONCILE,
    RelayState.FAILED,
    RelayState.MANUAL,
    RelayState.STUCK,
)

# The moves the relay state may make (``orders.services.lifecycle.relay_move`` checks them).
RELAY_TRANSITIONS: dict[str, frozenset[str]] = {
    # Sent, held for a manual service, given up (no route), or canceled before sending.
    RelayState.QUEUED: frozenset(
        {RelayState.SENDING, RelayState.MANUAL, RelayState.FAILED, RelayState.CLOSED}
    ),
    # The add's answer: placed, ambiguous, retry/failover, given up, or canceled (dead link).
    RelayState.SENDING: frozenset(
        {
            RelayState.PLACED,
            RelayState.RECONCILE,
            RelayState.QUEUED,
            RelayState.FAILED,
            RelayState.CLOSED,
        }
    ),
    # The provider denies knowing the order, or gave an id already in use; or it stays
    # Pending there too long.
    RelayState.PLACED: frozenset({RelayState.RECONCILE, RelayState.STUCK}),
    # The provider moves it after all (or it ends, or staff cancel it there); it denies
    # knowing it; staff resend it elsewhere.
    RelayState.STUCK: frozenset({RelayState.PLACED, RelayState.RECONCILE, RelayState.QUEUED}),
    # Staff (or a late answer) settle it: placed, resent, or canceled.
    RelayState.RECONCILE: frozenset({RelayState.PLACED, RelayState.QUEUED, RelayState.CLOSED}),
    RelayState.FAILED: frozenset({RelayState.QUEUED, RelayState.CLOSED}),
    RelayState.MANUAL: frozenset({RelayState.QUEUED, RelayState.CLOSED}),
    RelayState.CLOSED: frozenset(),
    # A drip-feed portion: released to the relay when due, or stopped before it was sent.
    RelayState.SCHEDULED: frozenset({RelayState.QUEUED, RelayState.CLOSED}),
    RelayState.PARENT: frozenset(),
}


# The split of a charge must add up to it (R-BAL-4), within half the last place
# (billing.money.HALF_PLACE): exact on Postgres, float-proof on SQLite (0.28 + 0.08).
SPLIT_TOLERANCE = HALF_PLACE


class Order(models.Model):
    Status = OrderStatus
    RelayState = RelayState

    class Source(models.TextChoices):
        WEB = "web", _("New Order")
        MASS = "mass", _("Mass Order")
        API = "api", _("API")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    service = models.ForeignKey("catalog.Service", on_delete=models.PROTECT, related_name="orders")
    link = models.CharField(max_length=MAX_LINK_LENGTH)
    quantity = models.PositiveIntegerField(
        help_text="What is delivered in total (a drip-feed order: quantity per run x runs)."
    )
    charge = MoneyField()
    # R-BAL-4: how the charge was paid, by funding source (empty only inside placement).
    paid_promotional = MoneyField(null=True, blank=True)
    paid_deposited = MoneyField(null=True, blank=True)
    refunded = MoneyField(default=0, help_text="What has been returned of the charge.")
    start_count = models.PositiveIntegerField(null=True, blank=True)
    remains = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Comments, runs, interval, other fields of the type."
    )
    source = models.CharField(max_length=8, choices=Source.choices)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001 - NULL: no key
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When it became final.")

    # R-CAT-2: what was live at placement.
    service_name = models.CharField(max_length=255)
    service_type = models.CharField(max_length=32)
    rate = MoneyField(help_text="The customer's rate per 1,000 (a Package: per package).")
    min_quantity = models.PositiveIntegerField()
    max_quantity = models.PositiveIntegerField()
    can_cancel = models.BooleanField(default=False)
    refill = models.BooleanField(default=False)
    refill_days = models.PositiveSmallIntegerField(default=0)
    dripfeed = models.BooleanField(default=False)
    beta = models.BooleanField(default=False)
    # R-ORD-12: staff found that the order overlapped another one on the same link (placed
    # elsewhere, or reported by the provider): it has no refill and no claims.
    overlapped = models.BooleanField(default=False)

    # The relay (staff only).
    relay_state = models.CharField(
        max_length=16, choices=RelayState.choices, default=RelayState.QUEUED
    )
    provider = models.ForeignKey(
        "catalog.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    provider_service = models.ForeignKey(
        "catalog.ProviderService",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        help_text="The route the order was sent (or is being sent) through.",
    )
    provider_order_id = models.BigIntegerField(null=True, blank=True)
    routes_tried = models.JSONField(
        default=list, blank=True, help_text="Provider routes given up on, in order."
    )
    relay_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts on the current route."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(
        null=True, blank=True, help_text="While sending: when a stuck send counts as ambiguous."
    )
    relay_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    poll_due_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    # Issue 9: since when an ambiguous ``add`` waits for staff, and when staff were alerted.
    reconcile_since = models.DateTimeField(null=True, blank=True)
    reconcile_alerted_at = models.DateTimeField(null=True, blank=True)
    cancel_sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider was asked to cancel (asked once)."
    )
    # R-ORD-10: a drip-feed order is a parent whose portions are orders of their own.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="portions"
    )
    portion = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="A drip-feed portion: its number (1, 2, ...)."
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="A scheduled portion: when it is released to the relay."
    )
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="A drip-feed parent: when its unsent portions stopped."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The Orders page: keyset pagination, newest first, per customer and status.
            models.Index(F("user"), F("id").desc(), name="order_user_id"),
            models.Index(F("user"), F("status"), F("id").desc(), name="order_user_status_id"),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(relay_state="queued"),
                name="order_relay_due",
            ),
            models.Index(
                fields=["provider", "poll_due_at"],
                condition=Q(poll_due_at__isnull=False),
                name="order_poll_due",
            ),
            models.Index(
                fields=["relay_state"],
                condition=Q(relay_state__in=["sending", "reconcile", "failed", "manual", "stuck"]),
                name="order_relay_attention",
            ),
            models.Index(fields=["service", "status"], name="order_service_status"),
            models.Index(
                fields=["due_at"], condition=Q(relay_state="scheduled"), name="order_portion_due"
            ),
            # A portion's neighbours (the one before it, the next to schedule).
            models.Index(
                fields=["parent", "portion"],
                condition=Q(portion__isnull=False),
                name="order_parent_portion",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="order_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(relay_state__in=RelayState.values), name="order_relay_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["web", "mass", "api"]), name="order_source_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="order_quantity_positive"),
            models.CheckConstraint(condition=Q(charge__gte=0), name="order_charge_not_negative"),
            models.CheckConstraint(
                condition=Q(paid_promotional__isnull=True, paid_deposited__isnull=True)
                | Q(
                    LessThan(
                        Abs(F("charge") - F("paid_promotional") - F("paid_deposited")),
                        Value(SPLIT_TOLERANCE),
                    ),
                    paid_promotional__gte=0,
                    paid_deposited__gte=0,
                ),
                name="order_paid_split_is_charge",
            ),
            models.CheckConstraint(
                condition=Q(refunded__gte=0, refunded__lte=F("charge")),
                name="order_refund_within_charge",
            ),
            models.CheckConstraint(
                condition=Q(remains__isnull=True) | Q(remains__lte=F("quantity")),
                name="order_remains_within_quantity",
            ),
            # R-ORD-3, R-ORD-12: one active order per account, link and service.
            models.UniqueConstraint(
                F("user"),
                F("service"),
                MD5("link"),
                # A drip-feed's portions share their parent's link (the parent counts).
                condition=Q(status__in=["pending", "in_progress", "processing"])
                & Q(parent__isnull=True),
                name="order_one_active_per_link",
            ),
            # A retried request never makes a second order.
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="order_idempotency_key_per_user",
            ),
            # The provider's order id is unique per provider.
            models.UniqueConstraint(
                fields=["provider", "provider_order_id"],
                condition=Q(provider_order_id__isnull=False),
                name="order_provider_order_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(provider_order_id__isnull=True) | Q(provider__isnull=False),
                name="order_provider_id_has_provider",
            ),
        ]

    def __str__(self) -> str:
        return f"Order #{self.pk}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_active(self) -> bool:
        """Started at the provider: the customer can no longer cancel (R-ORD-6)."""
        return self.status in (OrderStatus.IN_PROGRESS, OrderStatus.PROCESSING)

    @property
    def needs_staff(self) -> bool:
        return not self.is_final and self.relay_state in STAFF_QUEUE_STATES

    @property
    def being_checked(self) -> bool:
        """An ambiguous send waits for reconciliation: the customer is told it is being
        checked with the provider (the status itself stays Pending, R-ORD-4)."""
        return not self.is_final and self.relay_state == RelayState.RECONCILE

    @property
    def comments(self) -> str:
        return self.extra.get("comments", "")

    @property
    def refill_until(self):
        """While a Completed refill order's refill period is open: when it ends (R-ORD-13).
        A quick look for the pages; ``orders.services.refills.refill_refusal`` decides."""
        from datetime import timedelta

        from django.utils import timezone

        if (
            self.status != OrderStatus.COMPLETED
            or not self.refill
            or self.beta
            or self.overlapped
            or self.completed_at is None
            or self.refill_days <= 0
        ):
            return None
        end = self.completed_at + timedelta(days=self.refill_days)
        return end if end > timezone.now() else None

    @property
    def is_dripfeed_parent(self) -> bool:
        return self.parent_id is None and bool(self.extra.get("runs"))

    @property
    def is_portion(self) -> bool:
        return self.portion is not None

    @property
    def is_subscription(self) -> bool:
        return self.service_type == Service.Type.SUBSCRIPTIONS and self.parent_id is None


class OrderEvent(models.Model):
    """One line of an order's history: a status change or a note, with time and cause (R-ORD-16)."""

    class Cause(models.TextChoices):
        CUSTOMER = "customer", _("Customer")
        STAFF = "staff", _("Staff")
        PROVIDER = "provider", _("Provider")
        SCHEDULE = "schedule", _("Schedule")
        SYSTEM = "system", _("Panel")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=16, choices=OrderStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=OrderStatus.choices)
    cause = models.CharField(max_length=16, choices=Cause.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    staff_only = models.BooleanField(
        default=False, help_text="Relay details (providers, errors) the customer does not see."
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "id"], name="order_event_order_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(cause__in=["customer", "staff", "provider", "schedule", "system"]),
                name="order_event_cause_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.order_id}: {self.old_status or '-'} -> {self.new_status} ({self.cause})"

    @property
    def is_status_change(self) -> bool:
        return self.old_status != self.new_status


class BlockedPattern(models.Model):
    """A link pattern or keyword that staff refuse at placement (R-AUP-1)."""

    class Kind(models.TextChoices):
        KEYWORD = "keyword", _("Keyword (in the link or comments, any case)")
        DOMAIN = "domain", _("Domain (and its subdomains)")
        REGEX = "regex", _("Regular expression (searched in the link)")

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.KEYWORD)
    pattern = models.CharField(max_length=300)
    note = models.CharField(max_length=200, blank=True, help_text="Why (for staff).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "pattern"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["keyword", "domain", "regex"]),
                name="blocked_pattern_kind_valid",
            ),
            models.CheckConstraint(condition=~Q(pattern=""), name="blocked_pattern_not_empty"),
            models.UniqueConstraint(fields=["kind", "pattern"], name="blocked_pattern_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.pattern}"


class StaffQueueOrder(Order):
    """Orders waiting for staff (reconcile, failed, manual), for their own admin list."""

    class Meta:
        proxy = True
        verbose_name = "order waiting for staff"
        verbose_name_plural = "orders waiting for staff"


class ReconcileOrder(Order):
    """Ambiguous sends waiting for reconciliation, grouped by provider, for their own screen."""

    class Meta:
        proxy = True
        verbose_name = "ambiguous order (reconcile)"
        verbose_name_plural = "ambiguous orders (reconcile), by provider"


class FlaggedService(Service):
    """Services flagged with a pricing error (R-CAT-4), for the bulk cancel of their orders."""

    class Meta:
        proxy = True
        verbose_name = "service with a pricing error"
        verbose_name_plural = "services with a pricing error"


# --- refills (R-ORD-13) -----------------------------------------------------------------------
class RefillStatus(models.TextChoices):
    # The labels are the API v2 refill status strings.
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    REJECTED = "rejected", _("Rejected")


# A refill request's own status (R-ORD-13): allowed moves as data, final ones never move.
REFILL_TRANSITIONS: dict[str, frozenset[str]] = {
    RefillStatus.PENDING: frozenset(
        {RefillStatus.IN_PROGRESS, RefillStatus.COMPLETED, RefillStatus.REJECTED}
    ),
    RefillStatus.IN_PROGRESS: frozenset({RefillStatus.COMPLETED, RefillStatus.REJECTED}),
    RefillStatus.COMPLETED: frozenset(),
    RefillStatus.REJECTED: frozenset(),
}


class RefillRelay(models.TextChoices):
    """Where the refill is between the panel and the provider (staff only)."""

    QUEUED = "queued", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent; polled with refill_status")
    RECONCILE = "reconcile", _("Needs reconciliation")  # the `refill` may have landed
    MANUAL = "manual", _("Manual (staff)")
    DONE = "done", _("Done")


# The moves a refill's relay state may make (``orders.services.refills.refill_relay_move``).
REFILL_RELAY_TRANSITIONS: dict[str, frozenset[str]] = {
    RefillRelay.QUEUED: frozenset({RefillRelay.SENDING, RefillRelay.MANUAL, RefillRelay.DONE}),
    RefillRelay.SENDING: frozenset(
        {
            RefillRelay.SENT,
            RefillRelay.RECONCILE,
            RefillRelay.QUEUED,
            RefillRelay.MANUAL,
            RefillRelay.DONE,
        }
    ),
    # manual: its refill_status polls kept failing (ORDERS_REFILL_POLL_FAILURES_MAX).
    RefillRelay.SENT: frozenset({RefillRelay.RECONCILE, RefillRelay.MANUAL, RefillRelay.DONE}),
    RefillRelay.RECONCILE: frozenset({RefillRelay.SENT, RefillRelay.MANUAL, RefillRelay.DONE}),
    RefillRelay.MANUAL: frozenset({RefillRelay.DONE}),
    RefillRelay.DONE: frozenset(),
}


class Refill(models.Model):
    """A customer's request to refill a completed order (R-ORD-13), with its own status."""

    Status = RefillStatus
    Relay = RefillRelay

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refills")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refills"
    )
    status = models.CharField(
        max_length=16, choices=RefillStatus.choices, default=RefillStatus.PENDING
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was rejected.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    current_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="The count staff found (manual services)."
    )
    # The relay (staff only).
    relay_state = models.CharField(
        max_length=16, choices=RefillRelay.choices, default=RefillRelay.QUEUED
    )
    provider = models.ForeignKey(
        "catalog.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provider_refill_id = models.BigIntegerField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="Next send or poll.")
    attempts = models.PositiveSmallIntegerField(default=0)
    poll_failures = models.PositiveSmallIntegerField(
        default=0, help_text="refill_status polls of the sent refill that failed in a row."
    )
    relay_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The beat's three lookups (due sends, sends past their lease, due polls) each
            # read one relay state's due rows: by state first, then by due time.
            models.Index(
                fields=["relay_state", "due_at"],
                condition=Q(relay_state__in=["queued", "sending", "sent"]),
                name="refill_due",
            ),
            models.Index(F("user"), F("id").desc(), name="refill_user_id"),
            models.Index(fields=["order", "created_at"], name="refill_order_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RefillStatus.values), name="refill_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(relay_state__in=RefillRelay.values), name="refill_relay_state_valid"
            ),
            # One refill being worked on per order at a time.
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["pending", "in_progress"]),
                name="refill_one_open_per_order",
            ),
            models.UniqueConstraint(
                fields=["provider", "provider_refill_id"],
                condition=Q(provider_refill_id__isnull=False),
                name="refill_provider_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Refill #{self.pk} of order #{self.order_id}"

    @property
    def is_final(self) -> bool:
        return not REFILL_TRANSITIONS[self.status]


class RefillEvent(models.Model):
    """One line of a refill's history."""

    refill = models.ForeignKey(Refill, on_delete=models.CASCADE, related_name="events")
    created_at = models.DateTimeField(auto_now_add=True)
    old_status = models.CharField(max_length=16, choices=RefillStatus.choices, blank=True)
    new_status = models.CharField(max_length=16, choices=RefillStatus.choices)
    cause = models.CharField(max_length=16, choices=OrderEvent.Cause.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=500, blank=True)
    staff_only = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Refill #{self.refill_id}: {self.old_status or '-'} -> {self.new_status}"


class RefillUnsupported(models.Model):
    """A provider route that answered ``refill`` with a server error: it offers no refills
    (issue 16). Its orders' refills go to staff; staff delete the row to try it again."""

    provider_service = models.OneToOneField(
        "catalog.ProviderService", on_delete=models.CASCADE, related_name="refill_unsupported"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    detail = models.CharField(max_length=500, blank=True)

    class Meta:
        verbose_name = "route without refills"
        verbose_name_plural = "routes without refills"

    def __str__(self) -> str:
        return f"No refills: {self.provider_service}"


# --- subscriptions (R-ORD-11) ----------------------------------------------------------------
class Subscription(models.Model):
    """A Subscriptions order's schedule: cycles run by the panel, each charged when it runs."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused (not enough funds)")
        CANCELED = "canceled", _("Canceled")
        COMPLETED = "completed", _("Completed")
        EXPIRED = "expired", _("Expired")

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="subscription")
    username = models.CharField(max_length=200)
    min_quantity = models.PositiveIntegerField()
    max_quantity = models.PositiveIntegerField()
    posts = models.PositiveIntegerField(null=True, blank=True, help_text="None: unlimited.")
    old_posts = models.PositiveIntegerField(default=0)
    delay = models.PositiveIntegerField(default=0, help_text="Minutes after a post.")
    expiry = models.DateField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    posts_done = models.PositiveIntegerField(default=0)
    skipped_in_row = models.PositiveIntegerField(default=0)
    next_cycle_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_cycle_at"], condition=Q(state="active"), name="subscription_due"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_quantity__lte=F("max_quantity")), name="subscription_min_max"
            ),
        ]

    def __str__(self) -> str:
        return f"Subscription of order #{self.order_id}"


class SubscriptionCycle(models.Model):
    """One cycle that ran: an order placed for a post, or skipped and why (R-ORD-11)."""

    class Outcome(models.TextChoices):
        ORDERED = "ordered", _("Ordered")
        SKIPPED = "skipped", _("Skipped")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField()
    ran_at = models.DateTimeField(auto_now_add=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "number"], name="subscription_cycle_once"
            )
        ]

    def __str__(self) -> str:
        return f"Cycle {self.number} of subscription #{self.subscription_id}: {self.outcome}"
