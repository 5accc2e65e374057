"""First-party statistics (R-PRV-2) and the operator dashboard's aggregates.

Nothing here is sent anywhere: the panel counts for itself. Daily rows are refreshed by the
beat task ``stats.refresh`` (today and the days before it, ``STATS_RECOMPUTE_DAYS``), the live
snapshot by the same task; the dashboard reads only these rows, never the orders table.
"""

from django.db import models

from billing.money import MoneyField


class DailyFigures(models.Model):
    """One day (UTC): money, orders and people."""

    day = models.DateField(unique=True)
    deposits = MoneyField(default=0, help_text="Deposits credited (revenue in).")
    deposits_count = models.PositiveIntegerField(default=0)
    sales = MoneyField(default=0, help_text="Charges of the day's orders less their returns.")
    provider_cost = MoneyField(default=0, help_text="What the delivered part costs at providers.")
    gross_profit = MoneyField(default=0)
    orders = models.PositiveIntegerField(default=0)
    orders_by_status = models.JSONField(default=dict)
    registrations = models.PositiveIntegerField(default=0)
    sign_ins = models.PositiveIntegerField(default=0)
    sign_ins_new = models.PositiveIntegerField(default=0, help_text="By accounts made that day.")
    sign_ins_returning = models.PositiveIntegerField(default=0)
    countries = models.JSONField(default=dict, help_text="Sign-ins by country.")
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name_plural = "daily figures"

    def __str__(self) -> str:
        return f"Figures of {self.day}"


class DailyVisit(models.Model):
    """Pages visited per day, by page (URL name, never the path) and visitor country."""

    day = models.DateField()
    page = models.CharField(max_length=100)
    country = models.CharField(max_length=2, blank=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "page", "country"], name="daily_visit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.page} {self.country or '?'}: {self.count}"


class Snapshot(models.Model):
    """The live part of the dashboard (orders by status, stuck orders, providers, tickets),
    computed by the beat task and read as it is."""

    key = models.CharField(max_length=32, unique=True)
    data = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key


class ProviderCalls(models.Model):
    """Calls to one provider on one day by outcome and reason (the client's error taxonomy),
    with their total time: the dashboard's error rate and latency per provider."""

    day = models.DateField()
    provider = models.ForeignKey("catalog.Provider", on_delete=models.CASCADE, related_name="+")
    outcome = models.CharField(max_length=16)
    reason = models.CharField(max_length=32, blank=True)
    count = models.PositiveIntegerField(default=0)
    total_ms = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "provider", "outcome", "reason"], name="provider_calls_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} provider {self.provider_id} {self.outcome}/{self.reason}: {self.count}"
