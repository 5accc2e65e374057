from django.utils import timezone

from .models import Document


def document_current(*, kind: str) -> Document | None:
    """The version of a legal document in force now, or None if none is published."""
    return (
        Document.objects.filter(kind=kind, effective_at__lte=timezone.now())
        .order_by("-version")
        .first()
    )
