from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A customer or a staff member of the panel."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"  # R-ACC-5
        CLOSED = "closed", "Closed"  # R-ACC-6

    email = models.EmailField("email address", unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    adult_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person confirmed being 18 or older (R-ACC-1)."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "closed"]),
                name="user_status_valid",
            ),
        ]

    @property
    def can_order(self) -> bool:
        return self.is_active and self.status == self.Status.ACTIVE
