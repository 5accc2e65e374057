"""Encryption at rest for secrets the panel needs in clear later: provider API keys (R-PRV-5).

Fernet tokens under a ``MultiFernet`` built from ``settings.FIELD_ENCRYPTION_KEYS``: the
first key encrypts, every key decrypts, so a key can be rotated in by putting the new key
first and running ``manage.py provider_keys_rotate`` (re-encrypts every provider key with
it); the old key can then be removed.

With no keys configured (the embedded default of ``make run``) one key is derived from
``SECRET_KEY`` with HKDF-SHA256 (info ``smmpanel catalog provider api keys``), so the
panel runs without set-up. Production sets ``FIELD_ENCRYPTION_KEYS``; to move keys from the
derived key to configured ones, run ``provider_keys_rotate --from-secret-key`` once.
"""

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from smmpanel.exceptions import DomainError

_HKDF_INFO = b"smmpanel catalog provider api keys"


class DecryptionFailed(DomainError):  # noqa: N818 - named for the domain
    """The stored provider key cannot be decrypted with the configured keys."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from ``SECRET_KEY`` (used only when no keys are configured)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw)


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def configured_keys(*, include_secret_key: bool = False) -> tuple[bytes, ...]:
    keys = [key.encode() if isinstance(key, str) else key for key in settings.FIELD_ENCRYPTION_KEYS]
    if not keys or include_secret_key:
        keys.append(derived_key(settings.SECRET_KEY))
    return tuple(keys)


def encrypt(plain: str) -> str:
    return _multi_fernet(configured_keys()).encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _multi_fernet(configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionFailed() from exc


def rotate(token: str, *, include_secret_key: bool = False) -> str:
    """The same secret re-encrypted with the first configured key."""
    keys = configured_keys(include_secret_key=include_secret_key)
    try:
        return _multi_fernet(keys).rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionFailed() from exc
