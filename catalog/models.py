"""Catalog: categories, services, providers and their services, custom rates (R-CAT-*).

Rates are USD per 1,000 (``billing.money.MoneyField``, 5 places). For a Package
service the rate is the flat price of one package (min = max = 1).
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from billing.money import MoneyField

from . import crypto
from .links import LinkRule, link_matches


class Category(models.Model):
    """A group of services on the services page, e.g. "Instagram Followers"."""

    class Platform(models.TextChoices):
        INSTAGRAM = "instagram", _("Instagram")
        TIKTOK = "tiktok", _("TikTok")
        YOUTUBE = "youtube", _("YouTube")
        TELEGRAM = "telegram", _("Telegram")
        X = "x", _("X (Twitter)")
        FACEBOOK = "facebook", _("Facebook")
        SPOTIFY = "spotify", _("Spotify")
        OTHER = "other", _("Other")

    name = models.CharField(max_length=200, unique=True)
    platform = models.CharField(max_length=16, choices=Platform.choices, default=Platform.OTHER)
    position = models.PositiveIntegerField(default=0, help_text="Lower comes first.")

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """A catalog entry customers order (R-CAT-1)."""

    class Type(models.TextChoices):
        # The values are the API v2 type names, sent as they are in `services`.
        DEFAULT = "Default", _("Default")
        PACKAGE = "Package", _("Package")
        CUSTOM_COMMENTS = "Custom Comments", _("Custom Comments")
        SUBSCRIPTIONS = "Subscriptions", _("Subscriptions")

    class DisabledReason(models.TextChoices):
        STAFF = "staff", _("Disabled by staff")
        PROVIDER_MISSING = "provider_missing", _("No provider offers it any more")
        BELOW_COST = "below_cost", _("Provider price above ours")  # R-CAT-3
        PRICING_ERROR = "pricing_error", _("Pricing error")  # R-CAT-4

    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=32, choices=Type.choices, default=Type.DEFAULT)
    rate = MoneyField(help_text="USD per 1,000 (for a Package: the price of one package).")
    min_quantity = models.PositiveIntegerField(default=1)
    max_quantity = models.PositiveIntegerField(default=1)
    dripfeed = models.BooleanField("drip-feed", default=False)
    refill = models.BooleanField(default=False)
    refill_days = models.PositiveSmallIntegerField(
        default=0, help_text="Refill period in days after completion (R-ORD-13)."
    )
    cancel = models.BooleanField(default=False, help_text="Customers may ask to cancel.")
    guarantee = models.BooleanField(default=False, help_text='Show the "Guarantee" label.')
    beta = models.BooleanField(default=False, help_text="Beta: no refill, no claims (R-CAT-5).")
    average_time_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Average time to complete, in minutes."
    )
    link_rule = models.CharField(max_length=16, choices=LinkRule.choices, default=LinkRule.URL)
    link_pattern = models.CharField(
        max_length=500, blank=True, help_text="Regular expression for the Custom link rule."
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(
        max_length=32, choices=DisabledReason.choices, blank=True, default=""
    )
    pricing_error_at = models.DateTimeField(null=True, blank=True)
    pricing_error_note = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Order inside its category.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]  # the services page orders by category explicitly
        indexes = [models.Index(fields=["enabled", "category", "position"])]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0), name="service_rate_not_negative"),
            models.CheckConstraint(condition=Q(min_quantity__gte=1), name="service_min_positive"),
            models.CheckConstraint(
                condition=Q(max_quantity__gte=F("min_quantity")), name="service_max_not_below_min"
            ),
            models.CheckConstraint(
                condition=Q(type__in=["Default", "Package", "Custom Comments", "Subscriptions"]),
                name="service_type_valid",
            ),
            # R-CAT-5: a beta service carries no refill.
            models.CheckConstraint(
                condition=~Q(beta=True, refill=True), name="service_beta_has_no_refill"
            ),
            models.CheckConstraint(
                condition=Q(refill=False) | Q(refill_days__gte=1),
                name="service_refill_has_period",
            ),
            models.CheckConstraint(
                condition=~Q(link_rule="custom") | ~Q(link_pattern=""),
                name="service_custom_link_rule_has_pattern",
            ),
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(disabled_reason=""),
                name="service_enabled_has_no_disabled_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"

    def clean(self) -> None:
        errors = {}
        low, high = self.min_quantity, self.max_quantity
        if low is not None and high is not None and high < low:
            errors["max_quantity"] = "Max must not be below min."
        if self.beta and self.refill:
            errors["refill"] = "A beta service carries no refill (R-CAT-5)."
        if self.refill and not self.refill_days:
            errors["refill_days"] = "A refill service needs a refill period in days."
        if self.link_rule == LinkRule.CUSTOM:
            if not self.link_pattern:
                errors["link_pattern"] = "The Custom link rule needs a pattern."
            else:
                try:
                    re.compile(self.link_pattern)
                except re.error as exc:
                    errors["link_pattern"] = f"Not a valid regular expression: {exc}"
        if errors:
            raise ValidationError(errors)

    def link_is_valid(self, link: str) -> bool:
        """Whether ``link`` fits this service's link rule (R-ORD-3)."""
        return link_matches(rule=self.link_rule, pattern=self.link_pattern, link=link)

    @property
    def average_time_display(self) -> str:
        minutes = self.average_time_minutes
        if not minutes:
            return ""
        hours, mins = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        parts = [(days, "d"), (hours, "h"), (mins, "min")]
        return " ".join(f"{value} {unit}" for value, unit in parts if value)


# The service types the panel takes orders for (issue 16): the `services` action, the Services
# page and New Order list only these, and placement refuses the others, so no client is shown
# a service that every `add` refuses. All four are orderable since subscriptions run (R-ORD-11).
ORDERABLE_TYPES = frozenset(
    {
        Service.Type.DEFAULT,
        Service.Type.PACKAGE,
        Service.Type.CUSTOM_COMMENTS,
        Service.Type.SUBSCRIPTIONS,
    }
)


def orderable_service_types() -> frozenset[str]:
    """``ORDERABLE_TYPES``, read when asked (so one change flips lists and placement alike)."""
    return ORDERABLE_TYPES


def service_type_orderable(service_type: str) -> bool:
    """Whether the panel takes orders for services of this type (``ORDERABLE_TYPES``)."""
    return service_type in orderable_service_types()


class Provider(models.Model):
    """An upstream panel reached over API v2; its key is encrypted at rest (R-PRV-5)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    name = models.CharField(max_length=100, unique=True)
    api_url = models.URLField(max_length=500, help_text="The provider's API v2 endpoint.")
    # Fernet token (catalog.crypto); never shown back, never logged.
    api_key_encrypted = models.TextField(editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    balance = MoneyField(null=True, blank=True, editable=False)
    currency = models.CharField(max_length=8, blank=True, editable=False)
    balance_checked_at = models.DateTimeField(null=True, blank=True, editable=False)
    balance_alert_threshold = MoneyField(
        default=0, help_text="Staff are told when the balance falls below this."
    )
    balance_low_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "disabled"]), name="provider_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def api_key(self) -> str:
        """The key in clear, for the provider client only."""
        return crypto.decrypt(self.api_key_encrypted)

    def set_api_key(self, raw_key: str) -> None:
        self.api_key_encrypted = crypto.encrypt(raw_key)


class ProviderUnclassifiedAnswer(models.Model):
    """An error text a provider sent that the client's table does not know (issue 16).

    One row per provider, action and text, counted; staff read them in the admin so the
    wording table (``catalog.provider_client._ERROR_TABLE``) grows from what providers say.
    Written only by ``catalog.services.provider_answer_unclassified_record`` (an upsert).
    """

    TEXT_LENGTH = 500

    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="unclassified_answers"
    )
    action = models.CharField(max_length=32)
    text = models.CharField(max_length=TEXT_LENGTH)
    count = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["provider", "-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "action", "text"], name="provider_unclassified_answer_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.action}: {self.text[:60]}"


class ProviderService(models.Model):
    """A provider's service that fulfils one of ours; several per service, ranked (R-CAT-3).

    The order relay tries them by ``priority`` (lower first) and fails over to the next.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="provider_services")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="mappings")
    remote_service_id = models.CharField(max_length=64, help_text="The provider's service id.")
    remote_name = models.CharField(max_length=255, blank=True)
    priority = models.PositiveSmallIntegerField(default=1, help_text="Lower is tried first.")
    provider_rate = MoneyField(help_text="The provider's price to us, USD per 1,000.")
    markup_percent = models.DecimalField(max_digits=7, decimal_places=2, default=0)
    available = models.BooleanField(
        default=True, help_text="Listed by the provider at the last sync."
    )
    enabled = models.BooleanField(default=True, help_text="Staff switch for this route.")

    class Meta:
        ordering = ["service", "priority", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "remote_service_id", "service"],
                name="provider_service_unique_route",
            ),
            models.CheckConstraint(
                condition=Q(markup_percent__gte=0), name="provider_service_markup_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(provider_rate__gte=0), name="provider_service_rate_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} #{self.remote_service_id} → service {self.service_id}"


class CustomRate(models.Model):
    """A customer's own price (R-CAT-6): per service (a rate or a discount) or for all services.

    Precedence: this service's row, else the customer's all-services discount, else the base rate.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="custom_rates"
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="custom_rates",
        help_text="Empty: the discount applies to every service.",
    )
    rate = MoneyField(null=True, blank=True, help_text="A fixed rate per 1,000 for this service.")
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(rate__isnull=False, discount_percent__isnull=True, service__isnull=False)
                    | Q(rate__isnull=True, discount_percent__isnull=False)
                ),
                name="custom_rate_one_kind",
            ),
            models.CheckConstraint(
                condition=Q(rate__isnull=True) | Q(rate__gte=0), name="custom_rate_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(discount_percent__isnull=True)
                | Q(discount_percent__gt=0, discount_percent__lte=100),
                name="custom_rate_discount_range",
            ),
            models.UniqueConstraint(
                fields=["user", "service"],
                condition=Q(service__isnull=False),
                name="custom_rate_one_per_service",
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(service__isnull=True), name="custom_rate_one_global"
            ),
        ]

    def __str__(self) -> str:
        what = f"service {self.service_id}" if self.service_id else "all services"
        how = f"{self.rate} per 1,000" if self.rate is not None else f"-{self.discount_percent} %"
        return f"{self.user} · {what} · {how}"

    def clean(self) -> None:
        if (self.rate is None) == (self.discount_percent is None):
            raise ValidationError("Give either a rate or a discount, not both.")
        if self.rate is not None and self.service_id is None:
            raise ValidationError({"service": "A fixed rate needs a service."})


class ServiceUpdate(models.Model):
    """A public line on the Updates page: a service added, repriced, disabled or enabled."""

    class Kind(models.TextChoices):
        ADDED = "added", _("New service")
        PRICE_UP = "price_up", _("Price increased")
        PRICE_DOWN = "price_down", _("Price decreased")
        DISABLED = "disabled", _("Disabled")
        ENABLED = "enabled", _("Enabled")

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="updates")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    old_rate = MoneyField(null=True, blank=True)
    new_rate = MoneyField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.service_id}"


class StaffNotice(models.Model):
    """Something staff must know about the catalog (price rises, low provider balance)."""

    class Kind(models.TextChoices):
        PRICE_RISE = "price_rise", _("Provider price rise")  # R-CAT-3
        LOW_BALANCE = "low_balance", _("Provider balance low")
        SERVICE_GONE = "service_gone", _("Provider service gone")
        PRICING_ERROR = "pricing_error", _("Pricing error flagged")  # R-CAT-4
        RECONCILE_WAIT = "reconcile_wait", _("Ambiguous order waiting")  # orders, issue 9

    kind = models.CharField(max_length=16, choices=Kind.choices)
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    service = models.ForeignKey(
        Service, on_delete=models.CASCADE, null=True, blank=True, related_name="notices"
    )
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message[:60]}"
