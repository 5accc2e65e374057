from allauth.mfa.models import Authenticator

from . import apikeys
from .models import ApiKey, Notice


def user_has_totp(user) -> bool:
    """Whether the user has an active TOTP authenticator (R-ACC-7)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def api_key_user(*, key: str):
    """The account an API key belongs to, or None (R-KEY-2, R-KEY-3).

    None for an unknown or revoked key and for an account that may not use the API
    (suspended, closed, deactivated).
    """
    if not key or len(key) > 128:
        return None
    digest = apikeys.key_digest(key)
    api_key = (
        ApiKey.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
    )
    if api_key is None or not apikeys.digests_match(api_key.digest, digest):
        return None
    user = api_key.user
    return user if user.can_order else None


def api_key_active(*, user) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).first()


# --- dashboard (issue 14) ---
def notices_unread(*, user, limit: int = 10) -> list[Notice]:
    return list(Notice.objects.filter(user=user, read_at__isnull=True).order_by("-pk")[:limit])
