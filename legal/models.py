from django.conf import settings
from django.db import models


class Document(models.Model):
    """One version of a legal page: Terms, Acceptable Use or Privacy (R-LEG-1)."""

    class Kind(models.TextChoices):
        TERMS = "terms", "Terms of Service"
        AUP = "aup", "Acceptable Use Policy"
        PRIVACY = "privacy", "Privacy Policy"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    effective_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    material = models.BooleanField(
        default=False, help_text="A material change must be accepted again (R-LEG-2)."
    )

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="legal_document_kind_version"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} v{self.version}"


class Acceptance(models.Model):
    """A user's acceptance of one document version, with its time (R-ACC-1)."""

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
