from allauth.mfa.models import Authenticator
from django.conf import settings

from billing.selectors import balance_frozen
from legal.selectors import account_held
from smmpanel.readcache import cached

from . import apikeys
from .models import ApiKey, Notice


def user_language(user) -> str:
    """The language the customer's notices and mails are written in (issue 14)."""
    return user.language or settings.LANGUAGE_CODE


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
    (suspended, closed, deactivated, on hold under investigation: R-AUP-2, or with its
    balance frozen by dormancy until restored: R-DOR-2). A usable key's account is served
    from the read cache until the key is revoked or the account's row, holds or freeze
    change (``accounts.services``, ``accounts.signals``, ``legal.services``,
    ``billing.services.states``); refusals are always read from the database.
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
    if not user.can_order or account_held(user=user):  # R-KEY-3: frozen under investigation
        return None
    if balance_frozen(user=user):  # R-KEY-3, R-DOR-2: frozen by dormancy
        return None
    return user


def api_key_active(*, user) -> ApiKey | None:
    return ApiKey.objects.filter(user=user, revoked_at__isnull=True).first()


def accounts_linked(*, user, max_rounds: int = 3) -> set[int]:
    """The ids of the accounts linked to ``user`` (R-ACC-4): those sharing a sign-up IP, a
    card fingerprint or a device cookie, followed through up to ``max_rounds`` hops (A and B
    share a card, B and C a device: A, B and C are one group). ``user`` itself is not in it.
    Affiliates and promo limits use this to tell one person's accounts apart.
    """
    from django.db.models import Q

    from .models import AccountSignal

    group = {user.pk}
    frontier = {user.pk}
    for _ in range(max_rounds):
        signals = set(
            AccountSignal.objects.filter(user_id__in=frontier).values_list("kind", "value")
        )
        if not signals:
            break
        match = Q()
        for kind, value in signals:
            match |= Q(kind=kind, value=value)
        found = set(AccountSignal.objects.filter(match).values_list("user_id", flat=True))
        frontier = found - group
        if not frontier:
            break
        group |= frontier
    return group - {user.pk}


def accounts_linked_over_limit(*, user) -> bool:
    """More linked accounts than ``ACCOUNTS_LINKED_LIMIT``: staff approval is needed (R-ACC-4)."""
    from django.conf import settings

    return len(accounts_linked(user=user)) > settings.ACCOUNTS_LINKED_LIMIT


# --- dashboard (issue 14) ---
def notices_unread(*, user, limit: int = 10) -> list[Notice]:
    return list(Notice.objects.filter(user=user, read_at__isnull=True).order_by("-pk")[:limit])


def notice_mail_off(*, user) -> set[str]:
    """The mail switches ``user`` turned off (issue 14, ``accounts.notices``)."""
    from .models import NoticeMailOff

    return set(NoticeMailOff.objects.filter(user=user).values_list("switch", flat=True))
