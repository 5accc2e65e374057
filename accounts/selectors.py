from allauth.mfa.models import Authenticator

from legal.selectors import account_held

from . import apikeys
from .models import ApiKey


def user_has_totp(user) -> bool:
    """Whether the user has an active TOTP authenticator (R-ACC-7)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def api_key_user(*, key: str):
    """The account an API key belongs to, or None (R-KEY-2, R-KEY-3).

    None for an unknown or revoked key and for an account that may not use the API
    (suspended, closed, deactivated, or on hold under investigation: R-AUP-2).
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
    if not user.can_order or account_held(user=user):  # R-KEY-3: frozen under investigation
        return None
    return user


def api_key_active(*, user) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).first()
