from django.db import transaction
from django.utils import timezone

from legal.models import Document
from legal.services import acceptance_record

from . import apikeys
from .models import ApiKey


def user_signup_complete(*, user, terms: Document, ip_address: str | None) -> None:
    """Record the 18+ confirmation and the accepted Terms version with time (R-ACC-1)."""
    with transaction.atomic():
        user.adult_confirmed_at = timezone.now()
        user.save(update_fields=["adult_confirmed_at"])
        acceptance_record(user=user, document=terms, ip_address=ip_address)


def api_key_issue(*, user) -> tuple[ApiKey, str]:
    """Issue a new API key for ``user``, revoking the active one at once (R-KEY-1, R-KEY-2).

    Returns the stored key and its plaintext, which is never stored and must be shown
    to the customer now or never.
    """
    plaintext = apikeys.key_generate()
    with transaction.atomic():
        ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        api_key = ApiKey.objects.create(
            user=user,
            prefix=plaintext[: apikeys.PREFIX_LENGTH],
            digest=apikeys.key_digest(plaintext),
        )
    return api_key, plaintext


def api_key_revoke(*, user) -> None:
    ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
