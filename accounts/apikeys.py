"""How customer API keys are made and checked (R-KEY-1, R-KEY-2).

A key is 32 random hex characters (the shape panel clients expect), shown once.
The database keeps only HMAC-SHA256(pepper, key) and the first characters.
"""

import hashlib
import hmac
import secrets

from django.conf import settings

KEY_BYTES = 16  # 32 hex characters
PREFIX_LENGTH = 6


def _pepper() -> bytes:
    if settings.API_KEY_PEPPER:
        return settings.API_KEY_PEPPER.encode()
    # No pepper configured: derive a stable one from SECRET_KEY (documented in the README).
    return hmac.new(settings.SECRET_KEY.encode(), b"smmpanel api key pepper", "sha256").digest()


def key_generate() -> str:
    return secrets.token_hex(KEY_BYTES)


def key_digest(key: str) -> str:
    return hmac.new(_pepper(), key.encode(), hashlib.sha256).hexdigest()


def digests_match(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
