from datetime import datetime

from django.utils import timezone

from smmpanel.readcache import cached

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


# The read cache's stamp of the material Terms versions (smmpanel.readcache), bumped by
# legal.signals whenever a Document row is saved or deleted.
TERMS_STAMP = "legal-terms"


def _material_terms() -> tuple[tuple[int, datetime], ...]:
    """Every published material Terms version with its effective date, from the read cache:
    each ``add`` asks, and a version published for later takes effect without a change."""

    def load():
        published = documents_published(kind=Document.Kind.TERMS).filter(material=True)
        return tuple(published.order_by("version").values_list("version", "effective_at"))

    return cached(TERMS_STAMP, "material", load)


def terms_acceptance_due(*, user) -> Document | None:
    """The Terms version ``user`` must accept before ordering, or None (R-LEG-2).

    Due when a *material* Terms version is in effect and the user has accepted neither it nor
    any later version. Non-material versions never ask for a new acceptance.
    """
    now = timezone.now()
    in_effect = [version for version, effective_at in _material_terms() if effective_at <= now]
    if not in_effect:
        return None
    accepted = Acceptance.objects.filter(
        user=user, document__kind=Document.Kind.TERMS, document__version__gte=max(in_effect)
    ).exists()
    if accepted:
        return None
    return document_current(kind=Document.Kind.TERMS)


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
