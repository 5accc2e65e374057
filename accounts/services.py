from django.db import transaction
from django.utils import timezone

from legal.models import Document
from legal.services import acceptance_record


def user_signup_complete(*, user, terms: Document, ip_address: str | None) -> None:
    """Record the 18+ confirmation and the accepted Terms version with time (R-ACC-1)."""
    with transaction.atomic():
        user.adult_confirmed_at = timezone.now()
        user.save(update_fields=["adult_confirmed_at"])
        acceptance_record(user=user, document=terms, ip_address=ip_address)
