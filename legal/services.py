from django.db import transaction
from django.utils import timezone

from .models import Acceptance, Document


def acceptance_record(*, user, document: Document, ip_address: str | None = None) -> Acceptance:
    """Store that ``user`` accepted ``document`` now (R-ACC-1, R-LEG-2); idempotent."""
    with transaction.atomic():
        acceptance, _ = Acceptance.objects.get_or_create(
            user=user,
            document=document,
            defaults={"accepted_at": timezone.now(), "ip_address": ip_address},
        )
    return acceptance


def document_publish(
    *, kind: str, title: str, body: str, effective_at=None, material: bool = False
) -> Document:
    """Publish the next version of a legal document."""
    with transaction.atomic():
        last = Document.objects.select_for_update().filter(kind=kind).order_by("-version").first()
        return Document.objects.create(
            kind=kind,
            version=(last.version + 1) if last else 1,
            title=title,
            body=body,
            effective_at=effective_at or timezone.now(),
            material=material,
        )
