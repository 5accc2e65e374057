from django.utils import timezone

from .models import Acceptance, Document


def documents_published(*, kind: str):
    return Document.objects.filter(kind=kind, version__isnull=False)


def document_current(*, kind: str) -> Document | None:
    """The published version of a legal document in force now, or None (R-LEG-1)."""
    return (
        documents_published(kind=kind)
        .filter(effective_at__lte=timezone.now())
        .order_by("-version")
        .first()
    )


def document_version(*, kind: str, version: int) -> Document:
    """One published version (raises ``Document.DoesNotExist`` for drafts and unknown ones)."""
    return documents_published(kind=kind).get(version=version)


def document_history(*, kind: str) -> list[Document]:
    """Every published version, newest first (future ones included: they are announced)."""
    return list(documents_published(kind=kind).order_by("-version"))


def terms_acceptance_due(*, user) -> Document | None:
    """The Terms version ``user`` must accept before ordering, or None (R-LEG-2).

    Due when a *material* Terms version is in effect and the user has accepted neither it nor
    any later version. Non-material versions never ask for a new acceptance.
    """
    now = timezone.now()
    terms = documents_published(kind=Document.Kind.TERMS).filter(effective_at__lte=now)
    material = terms.filter(material=True).order_by("-version").values_list("version", flat=True)
    material_version = material.first()
    if material_version is None:
        return None
    accepted = Acceptance.objects.filter(
        user=user, document__kind=Document.Kind.TERMS, document__version__gte=material_version
    ).exists()
    if accepted:
        return None
    return terms.order_by("-version").first()


def account_held(*, user) -> bool:
    """Whether the whole account is on hold under investigation (R-AUP-2)."""
    from .models import Hold

    return Hold.objects.filter(user=user, order=None, status=Hold.Status.OPEN).exists()


def order_held(*, order) -> bool:
    """Whether ``order`` may not be sent to a provider now: the order itself or its account
    is on hold (R-AUP-2). One indexed query."""
    from django.db.models import Q

    from .models import Hold

    return (
        Hold.objects.filter(status=Hold.Status.OPEN, user_id=order.user_id)
        .filter(Q(order=None) | Q(order_id=order.pk))
        .exists()
    )
