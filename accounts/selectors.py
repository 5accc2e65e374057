from allauth.mfa.models import Authenticator

from smmpanel.readcache import cached

from . import apikeys
from .models import ApiKey


def user_has_totp(user) -> bool:
    """Whether the user has an active TOTP authenticator (R-ACC-7)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def api_key_stamp(digest: str) -> str:
    """The read cache's stamp of one key (smmpanel.readcache), bumped by its writers."""
    return f"apikey:{digest}"


def api_key_user(*, key: str):
    """The account an API key belongs to, or None (R-KEY-2, R-KEY-3).

    None for an unknown or revoked key and for an account that may not use the API
    (suspended, closed, deactivated). A usable key's account is served from the read
    cache until the key is revoked or the account's row changes (``accounts.services``,
    ``accounts.signals``); refusals are always read from the database.
    """
    if not key or len(key) > 128:
        return None
    digest = apikeys.key_digest(key)
    return cached(api_key_stamp(digest), "user", lambda: _api_key_user_uncached(digest))


def _api_key_user_uncached(digest: str):
    api_key = (
        ApiKey.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
    )
    if api_key is None or not apikeys.digests_match(api_key.digest, digest):
        return None
    user = api_key.user
    return user if user.can_order else None


def api_key_active(*, user) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).first()
