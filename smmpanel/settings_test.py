"""Settings for the test suite: the real settings on Postgres and Redis, minus HTTPS.

Kept as its own module because pytest-django imports settings before any conftest
runs, so the environment cannot be adjusted from a conftest.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smmpanel")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("SECRET_KEY", "test-only-" + "x" * 60)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
# xdist workers share one Redis database: each keeps its cache keys under its own prefix.
os.environ["CACHE_KEY_PREFIX"] = os.environ.get("CACHE_KEY_PREFIX", "smmtest") + os.environ.get(
    "PYTEST_XDIST_WORKER", ""
)
# Django empties tables with TRUNCATE between transactional tests; the ledger refuses it otherwise.
os.environ.setdefault("LEDGER_TRUNCATE_ALLOWED", "1")
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "XBPyimAUqR5lgsDvT1mUVuZ5jjq22hVPKso-YVBj2hs=")

from .settings import *  # noqa: F403

# Fast hashing in tests; production keeps Django's default (PBKDF2/Argon2).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run tasks inline; the integration tests start a real worker on Redis.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
