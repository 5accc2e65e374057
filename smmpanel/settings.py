"""Settings, all read from the environment (12-factor).

With nothing set the panel runs on the *embedded default*: SQLite under
``var/``, a Celery broker on the filesystem (kombu's filesystem transport) and
a process-local cache. With ``DATABASE_URL`` and ``REDIS_URL`` set it runs on
Postgres and Redis; the code paths are the same.
"""

import secrets
import sys
from decimal import Decimal
from pathlib import Path

import environ
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
SITE_NAME = env.str("SITE_NAME", default="smmpanel")

INSTALLED_APPS = [
    "smmpanel.apps.PanelAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_celery_beat",
    "csp",
    "bootstrap",
    "accounts",
    "legal",
    "billing",
    "catalog",
    "devtools",
    "orders",
    "support",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.AccountStatusMiddleware",
]

# --- hardening (issue 9): malformed forms and Redis outages (smmpanel/middleware.py) ---
_csrf_at = MIDDLEWARE.index("django.middleware.csrf.CsrfViewMiddleware")
MIDDLEWARE.insert(_csrf_at, "smmpanel.middleware.FormLimitsMiddleware")
MIDDLEWARE.append("smmpanel.middleware.FormRefusedMiddleware")  # after CSRF and messages
MIDDLEWARE.append("smmpanel.middleware.RedisOutageMiddleware")
# Seconds a client is told to wait (Retry-After) while Redis is unreachable (README).
REDIS_OUTAGE_RETRY_AFTER_SECONDS = env.int("REDIS_OUTAGE_RETRY_AFTER_SECONDS", default=30)

ROOT_URLCONF = "smmpanel.urls"
WSGI_APPLICATION = "smmpanel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "smmpanel.context_processors.panel",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Issue 9: Django's development server (`make run`) starts a thread per request and never
# reuses a thread's connection, so persistent connections pile up until Postgres refuses
# more ("too many clients"): under runserver connections always close after each request.
DEV_SERVER = len(sys.argv) > 1 and sys.argv[1] == "runserver"
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DEV_SERVER else env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, Celery -----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to wait for Redis (cache and broker): one that hangs instead of refusing (a paused
# container, a dropped route) then fails like one that is down, and the outage policy
# applies (smmpanel/outage.py) instead of requests hanging. The read timeout stays above
# the broker's 1-second BRPOP poll.
REDIS_SOCKET_CONNECT_TIMEOUT = env.float("REDIS_SOCKET_CONNECT_TIMEOUT", default=2.0)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=3.0)
_REDIS_TIMEOUTS = {
    "socket_connect_timeout": REDIS_SOCKET_CONNECT_TIMEOUT,
    "socket_timeout": REDIS_SOCKET_TIMEOUT,
}
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, one redis client per pool (smmpanel/cache.py, issue 15).
            "BACKEND": "smmpanel.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="smm"),
            "OPTIONS": dict(_REDIS_TIMEOUTS),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "unix://")):
        CELERY_BROKER_TRANSPORT_OPTIONS = dict(_REDIS_TIMEOUTS)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# Apps add their periodic work here (see each app's ``schedule.py``).
CELERY_BEAT_SCHEDULE: dict = {}

# --- Auth and accounts (django-allauth) ----------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "accounts.forms.SignupForm"
# Issue 9: no account enumeration: sign-up, sign-in and reset answer alike for taken and
# free addresses (accounts.signup.PanelSignupForm: a taken address is told by mail).
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_FORMS = {"signup": "accounts.signup.PanelSignupForm"}
ACCOUNT_EMAIL_VERIFICATION = "optional"  # R-ACC-3: unverified accounts can still order
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "http" if DEBUG else "https"
ACCOUNT_RATE_LIMITS = {  # R-AUP-4
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
# `make run` only: the demo staff get TOTP set up and this code signs them in (allauth refuses
# the setting unless DEBUG). Never set in production.
DEMO_TOTP_CODE = env.str("DEMO_TOTP_CODE", default="") if DEBUG else ""
if DEMO_TOTP_CODE:
    MFA_TOTP_INSECURE_BYPASS_CODE = DEMO_TOTP_CODE
# R-ACC-7: staff must have TOTP before /admin/ opens (smmpanel.admin.PanelAdminSite).
STAFF_REQUIRE_TOTP = True

# --- Email ----------------------------------------------------------------------
EMAIL_CONFIG = env.email_url(
    "EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25"
)
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="smmpanel <noreply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# R-LEG-3: operator contact addresses and support hours, shown on the pages.
CONTACT_EMAILS = {
    "support": env.str("CONTACT_SUPPORT", default="support@localhost"),
    "billing": env.str("CONTACT_BILLING", default="billing@localhost"),
    "legal": env.str("CONTACT_LEGAL", default="legal@localhost"),
    "privacy": env.str("CONTACT_PRIVACY", default="privacy@localhost"),
    "abuse": env.str("CONTACT_ABUSE", default="abuse@localhost"),
}
SUPPORT_HOURS = env.str("SUPPORT_HOURS", default="10:00-23:00 SGT")

# --- Money and payments -----------------------------------------------------------
CURRENCY = "USD"
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Where the Stripe API and Stripe.js live; localstripe in development and tests.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
DEPOSIT_MIN = Decimal(env.str("DEPOSIT_MIN", default="5.00"))  # R-PAY-5
DEPOSIT_MAX = Decimal(env.str("DEPOSIT_MAX", default="10000.00"))  # R-PAY-5

# --- Secrets at rest ----------------------------------------------------------------
# R-PRV-5: Fernet keys for provider API keys; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# Pepper for hashing customer API keys (R-KEY-2); defaults to one derived from SECRET_KEY.
API_KEY_PEPPER = env.str("API_KEY_PEPPER", default="")

# --- Internationalisation --------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- languages (issue 14): English + Spanish; compiled catalog committed in locale/ ---
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# LocaleMiddleware sits after sessions and before CommonMiddleware (Django's documented place).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.common.CommonMiddleware"),
    "django.middleware.locale.LocaleMiddleware",
)

# --- Static files ------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "/media/"

# --- Security ------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

_stripe_js_origin = "/".join(STRIPE_JS_URL.split("/")[:3])
_stripe_api_origin = "/".join(STRIPE_API_BASE.split("/")[:3])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, _stripe_js_origin],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, _stripe_api_origin, _stripe_js_origin],
        "frame-src": [_stripe_js_origin, "https://hooks.stripe.com"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# django-ratelimit, and the rate limits of our own views (R-AUP-4, R-KEY-4).
RATELIMIT_USE_CACHE = "default"
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache increments atomically; django-ratelimit only lists django-redis.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # Embedded default: one process-local cache; rate limits then count per process.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- API v2 ---
# Published limits (R-KEY-4), shown on the API page; django-ratelimit rate strings.
API_RATE_LIMIT_PER_ACCOUNT = env.str("API_RATE_LIMIT_PER_ACCOUNT", default="300/m")
API_RATE_LIMIT_PER_IP = env.str("API_RATE_LIMIT_PER_IP", default="600/m")

# --- catalog ---
# R-CAT-3: when a provider's price rises above ours, "reprice" (to the provider's price plus the
# route's markup) or "disable" the service; staff are told either way.
CATALOG_PRICE_RISE_POLICY = env.str("CATALOG_PRICE_RISE_POLICY", default="reprice")
if CATALOG_PRICE_RISE_POLICY not in {"reprice", "disable"}:
    raise ValueError("CATALOG_PRICE_RISE_POLICY must be 'reprice' or 'disable'")
CATALOG_DEFAULT_MARKUP_PERCENT = Decimal(env.str("CATALOG_DEFAULT_MARKUP_PERCENT", default="30"))
CATALOG_DEFAULT_REFILL_DAYS = env.int("CATALOG_DEFAULT_REFILL_DAYS", default=30)
# Provider calls: hard limit on a whole call, and on the connect inside it (seconds).
PROVIDER_TIMEOUT = env.float("PROVIDER_TIMEOUT", default=20.0)
PROVIDER_CONNECT_TIMEOUT = env.float("PROVIDER_CONNECT_TIMEOUT", default=5.0)
PROVIDER_BALANCE_ALERT_THRESHOLD = Decimal(
    env.str("PROVIDER_BALANCE_ALERT_THRESHOLD", default="50.00")
)
PROVIDER_BALANCE_POLL_MINUTES = env.int("PROVIDER_BALANCE_POLL_MINUTES", default=15)
# The provider simulator of `make run` (devtools/simulator.py) and the demo provider using it.
SIMULATOR_PORT = env.int("SIMULATOR_PORT", default=8100)
SIMULATOR_API_KEY = env.str("SIMULATOR_API_KEY", default="simulator-demo-key")
SIMULATOR_STEP_SECONDS = env.float("SIMULATOR_STEP_SECONDS", default=20.0)
CELERY_BEAT_SCHEDULE["catalog-provider-balances"] = {
    "task": "catalog.provider_balances_poll",
    "schedule": PROVIDER_BALANCE_POLL_MINUTES * 60.0,
}

# --- billing ---------------------------------------------------------------------------
# R-BAL-4: spending takes Promotional Credit first, then Deposited Funds (False: the reverse).
BILLING_SPEND_PROMOTIONAL_FIRST = env.bool("BILLING_SPEND_PROMOTIONAL_FIRST", default=True)
BILLING_HISTORY_PAGE_SIZE = env.int("BILLING_HISTORY_PAGE_SIZE", default=50)
# R-PAY-2: webhook signatures older than this many seconds are refused (Stripe's standard).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_TIMEOUT = env.int("STRIPE_TIMEOUT", default=20)  # seconds, every Stripe API call
STRIPE_MAX_NETWORK_RETRIES = env.int("STRIPE_MAX_NETWORK_RETRIES", default=2)
# The ledger refuses TRUNCATE (billing migration 0002) unless the session allows it. Only the
# test settings allow it: Django empties every table with TRUNCATE between transactional tests.
LEDGER_TRUNCATE_ALLOWED = env.bool("LEDGER_TRUNCATE_ALLOWED", default=False)
if LEDGER_TRUNCATE_ALLOWED and USES_POSTGRES:
    _db_options = DATABASES["default"].setdefault("OPTIONS", {})
    _db_options["options"] = f"{_db_options.get('options', '')} -c smmpanel.ledger_truncate=allow"
TEMPLATES[0]["OPTIONS"]["context_processors"].append("billing.context_processors.balance")

# --- billing: money after the deposit (issue 12) ------------------------------------------------
# R-WDR-3: the processing fee of a withdrawal, percent; never more than 10.
WITHDRAWAL_FEE_PERCENT = min(Decimal(env.str("WITHDRAWAL_FEE_PERCENT", default="5")), Decimal("10"))
# R-WDR-5: payouts above this many USD (a large transaction) need staff verification.
WITHDRAWAL_VERIFY_ABOVE = Decimal(env.str("WITHDRAWAL_VERIFY_ABOVE", default="1000"))
# R-PRO-3: the referrer's commission on a referred customer's deposits, percent.
AFFILIATE_COMMISSION_PERCENT = Decimal(env.str("AFFILIATE_COMMISSION_PERCENT", default="5"))
AFFILIATE_COOKIE_DAYS = env.int("AFFILIATE_COOKIE_DAYS", default=30)
# R-DOR-1..5
DORMANCY_INACTIVE_MONTHS = env.int("DORMANCY_INACTIVE_MONTHS", default=12)
DORMANCY_NOTICE_DAYS = env.int("DORMANCY_NOTICE_DAYS", default=14)
DORMANCY_LARGE_BALANCE = Decimal(env.str("DORMANCY_LARGE_BALANCE", default="1000"))
DORMANCY_SMALL_FORFEIT_MONTHS = env.int("DORMANCY_SMALL_FORFEIT_MONTHS", default=6)
DORMANCY_LARGE_RESTORE_MONTHS = env.int("DORMANCY_LARGE_RESTORE_MONTHS", default=18)
DORMANCY_BATCH = env.int("DORMANCY_BATCH", default=200)
CELERY_BEAT_SCHEDULE["billing-dormancy"] = {"task": "billing.dormancy_run", "schedule": 86400.0}

# --- orders ----------------------------------------------------------------------------------
# The relay (orders/services/relay.py): retries per provider route, then the next route.
ORDERS_RELAY_RETRIES = env.int("ORDERS_RELAY_RETRIES", default=5)
ORDERS_RELAY_BACKOFF_SECONDS = env.float("ORDERS_RELAY_BACKOFF_SECONDS", default=30.0)
ORDERS_RELAY_BACKOFF_MAX_SECONDS = env.float("ORDERS_RELAY_BACKOFF_MAX_SECONDS", default=900.0)
# A send (or poll) longer than PROVIDER_TIMEOUT plus this is stuck: its add is ambiguous.
ORDERS_RELAY_GRACE_SECONDS = env.float("ORDERS_RELAY_GRACE_SECONDS", default=30.0)
# A queued order whose relay message never ran (lost) is handed on again after this.
ORDERS_RELAY_LOST_AFTER_SECONDS = env.float("ORDERS_RELAY_LOST_AFTER_SECONDS", default=300.0)
ORDERS_RELAY_DUE_SECONDS = env.float("ORDERS_RELAY_DUE_SECONDS", default=10.0)
# R-ACC-5: a suspended account's unsent orders are held; the beat looks again this often.
ORDERS_HOLD_RECHECK_SECONDS = env.float("ORDERS_HOLD_RECHECK_SECONDS", default=300.0)
# Status polling: each active order about this often, at most this many 100-order batches a run.
ORDERS_POLL_SECONDS = env.float("ORDERS_POLL_SECONDS", default=60.0)
ORDERS_POLL_MAX_BATCHES = env.int("ORDERS_POLL_MAX_BATCHES", default=50)
# R-ORD-15: fetch an order's link before sending it; 404/410 cancels it with a full return.
# Private, loopback and link-local addresses are refused unless listed here (tests only).
ORDERS_LINK_CHECK = env.bool("ORDERS_LINK_CHECK", default=True)
ORDERS_LINK_CHECK_TIMEOUT = env.float("ORDERS_LINK_CHECK_TIMEOUT", default=5.0)
ORDERS_LINK_CHECK_ALLOWED_NETWORKS = env.list("ORDERS_LINK_CHECK_ALLOWED_NETWORKS", default=[])
ORDERS_PAGE_SIZE = env.int("ORDERS_PAGE_SIZE", default=50)
# R-AUP-4: New Order and Mass Order submissions, per account and per IP.
ORDERS_PLACE_RATE_LIMIT = env.str("ORDERS_PLACE_RATE_LIMIT", default="30/m")
ORDERS_MASS_MAX_LINES = env.int("ORDERS_MASS_MAX_LINES", default=1000)
# Tests give each xdist worker's Celery worker its own queue.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_BEAT_SCHEDULE["orders-relay-due"] = {
    "task": "orders.relay_due",
    "schedule": ORDERS_RELAY_DUE_SECONDS,
}
CELERY_BEAT_SCHEDULE["orders-poll"] = {"task": "orders.poll", "schedule": ORDERS_POLL_SECONDS}

# --- provider interop (issue 16) ---
# An order a provider still calls Pending this long after it took it goes to the staff queue
# (relay state "stuck"): some panels show their own failed or waiting states as Pending forever.
ORDERS_PROVIDER_PENDING_MAX_HOURS = env.float("ORDERS_PROVIDER_PENDING_MAX_HOURS", default=24.0)
# --- end provider interop ---

# --- support (issue 11) ------------------------------------------------------------------
# R-SUP-3: SUPPORT_HOURS is the text shown; these say when support is online (the form tells
# the customer whether an answer comes now or from the next opening).
SUPPORT_HOURS_TIMEZONE = env.str("SUPPORT_HOURS_TIMEZONE", default="Asia/Singapore")
SUPPORT_HOURS_START = env.str("SUPPORT_HOURS_START", default="10:00")
SUPPORT_HOURS_END = env.str("SUPPORT_HOURS_END", default="23:00")
# R-ORD-14 / R-WDR-6: claims on an order are accepted this many days after it ends
# Completed or Partial; the beat closes expired windows every SUPPORT_CLAIM_CLOSE_SECONDS.
SUPPORT_CLAIM_WINDOW_DAYS = env.int("SUPPORT_CLAIM_WINDOW_DAYS", default=3)
SUPPORT_CLAIM_CLOSE_SECONDS = env.float("SUPPORT_CLAIM_CLOSE_SECONDS", default=300.0)
SUPPORT_CLAIM_CLOSE_BATCH = env.int("SUPPORT_CLAIM_CLOSE_BATCH", default=500)
# R-SUP-1: screenshots: image types only, these limits per file and per message; images
# above SUPPORT_IMAGE_MAX_PIXELS (width x height) are refused before decoding (the
# decompression-bomb guard, also Pillow's Image.MAX_IMAGE_PIXELS).
SUPPORT_ATTACHMENT_MAX_BYTES = env.int("SUPPORT_ATTACHMENT_MAX_BYTES", default=5 * 1024 * 1024)
SUPPORT_ATTACHMENT_MAX_COUNT = env.int("SUPPORT_ATTACHMENT_MAX_COUNT", default=5)
SUPPORT_IMAGE_MAX_PIXELS = env.int("SUPPORT_IMAGE_MAX_PIXELS", default=25_000_000)
# Private storage of screenshots: a folder under var/ unless an S3-compatible bucket is set.
SUPPORT_S3_BUCKET = env.str("SUPPORT_S3_BUCKET", default="")
if SUPPORT_S3_BUCKET:
    STORAGES["support_private"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": SUPPORT_S3_BUCKET,
            "endpoint_url": env.str("SUPPORT_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("SUPPORT_S3_REGION", default="") or None,
            "access_key": env.str("SUPPORT_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("SUPPORT_S3_SECRET_KEY", default="") or None,
            "location": env.str("SUPPORT_S3_PREFIX", default="support"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    STORAGES["support_private"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("SUPPORT_PRIVATE_ROOT", default=str(VAR_DIR / "private")),
            "base_url": "/no-public-url/",
        },
    }
# R-AUP-4: new tickets and replies per account, abuse reports per IP (django-ratelimit).
SUPPORT_TICKET_RATE_LIMIT = env.str("SUPPORT_TICKET_RATE_LIMIT", default="20/h")
SUPPORT_ABUSE_RATE_LIMIT = env.str("SUPPORT_ABUSE_RATE_LIMIT", default="5/h")
# R-SUP-4 spam guard: an abuse form sent sooner than this after it was shown, or older than
# the max age, is refused (a signed timestamp in the form; no third-party captcha).
SUPPORT_ABUSE_MIN_SECONDS = env.int("SUPPORT_ABUSE_MIN_SECONDS", default=3)
SUPPORT_ABUSE_MAX_AGE_SECONDS = env.int("SUPPORT_ABUSE_MAX_AGE_SECONDS", default=86400)
SUPPORT_DESK_PAGE_SIZE = env.int("SUPPORT_DESK_PAGE_SIZE", default=50)
# The nav's count of unread ticket replies.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("support.context_processors.unread")
CELERY_BEAT_SCHEDULE["support-claim-windows-close"] = {
    "task": "support.claim_windows_close",
    "schedule": SUPPORT_CLAIM_CLOSE_SECONDS,
}

# --- compliance (issue 13: legal, privacy, holds, regions, linked accounts, statistics) ---
# The client's IP: X-Forwarded-For is trusted only from these proxies (addresses or networks).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
RATELIMIT_IP_META_KEY = "accounts.geo.ratelimit_ip"
# R-AUP-3: sign-ups and orders from these countries (ISO 3166 alpha-2, by IP) are refused.
RESTRICTED_COUNTRIES = [
    code.strip().upper() for code in env.list("RESTRICTED_COUNTRIES", default=[])
]
# R-LEG-2, R-AUP-2/3: the web pages that place orders, gated by legal.middleware.
LEGAL_ORDER_VIEWS = env.list(
    "LEGAL_ORDER_VIEWS", default=["orders:new", "orders:mass", "orders:resume"]
)
MIDDLEWARE.append("legal.middleware.ComplianceMiddleware")
# R-ACC-4: accounts of one person (linked by sign-up IP, card or device) allowed without notice.
ACCOUNTS_LINKED_LIMIT = env.int("ACCOUNTS_LINKED_LIMIT", default=10)
DEVICE_COOKIE_NAME = env.str("DEVICE_COOKIE_NAME", default="panel_device")
# R-PRV-1: sign-in records (IP, country) are deleted after this many days.
PRIVACY_SIGNIN_RETENTION_DAYS = env.int("PRIVACY_SIGNIN_RETENTION_DAYS", default=365)
MIDDLEWARE.insert(
    MIDDLEWARE.index("csp.middleware.CSPMiddleware"), "accounts.middleware.DeviceCookieMiddleware"
)
CELERY_BEAT_SCHEDULE["accounts-sign-ins-purge"] = {
    "task": "accounts.sign_ins_purge",
    "schedule": 6 * 3600.0,
}
# R-PRV-3: a data archive's download link is valid this long; the archive is deleted then.
PRIVACY_EXPORT_LINK_HOURS = env.int("PRIVACY_EXPORT_LINK_HOURS", default=24)
CELERY_BEAT_SCHEDULE["legal-data-exports-purge"] = {
    "task": "legal.data_exports_purge",
    "schedule": 3600.0,
}
# R-PRV-2: first-party statistics and the operator dashboard (stats app).
INSTALLED_APPS.append("stats")
MIDDLEWARE.append("stats.middleware.PageVisitMiddleware")
STATS_REFRESH_SECONDS = env.float("STATS_REFRESH_SECONDS", default=120.0)
STATS_RECOMPUTE_DAYS = env.int("STATS_RECOMPUTE_DAYS", default=3)  # today and the days before
STATS_DASHBOARD_DAYS = env.int("STATS_DASHBOARD_DAYS", default=30)
STATS_STUCK_HOURS = env.int("STATS_STUCK_HOURS", default=48)  # in progress longer is stuck
CELERY_BEAT_SCHEDULE["stats-refresh"] = {"task": "stats.refresh", "schedule": STATS_REFRESH_SECONDS}

# --- hardening (issue 9): ambiguous sends waiting for staff ---
# An order waiting for reconciliation longer than this is reported to staff (once).
ORDERS_RECONCILE_ALERT_MINUTES = env.float("ORDERS_RECONCILE_ALERT_MINUTES", default=30.0)
ORDERS_RECONCILE_ALERT_CHECK_SECONDS = env.float(
    "ORDERS_RECONCILE_ALERT_CHECK_SECONDS", default=300.0
)
CELERY_BEAT_SCHEDULE["orders-reconcile-alert"] = {
    "task": "orders.reconcile_alert",
    "schedule": ORDERS_RECONCILE_ALERT_CHECK_SECONDS,
}

# --- orders: drip-feed, refills, subscriptions (issue 10) -----------------------------------
# Due rows (drip-feed portions, refills to send or poll, subscription cycles) are claimed by
# the beat every ORDERS_DUE_SECONDS, ORDERS_DUE_BATCH rows a batch, at most this many batches.
ORDERS_DUE_SECONDS = env.float("ORDERS_DUE_SECONDS", default=10.0)
ORDERS_DUE_BATCH = env.int("ORDERS_DUE_BATCH", default=100)
ORDERS_DUE_MAX_BATCHES = env.int("ORDERS_DUE_MAX_BATCHES", default=50)
# R-ORD-13: refill requests per order per day (a rolling 24 hours).
ORDERS_REFILL_PER_DAY = env.int("ORDERS_REFILL_PER_DAY", default=1)
# A provider's refill is polled with refill_status this often.
ORDERS_REFILL_POLL_SECONDS = env.float("ORDERS_REFILL_POLL_SECONDS", default=300.0)
# A sent refill whose refill_status poll fails this many times in a row (HTTP 5xx, a refusal,
# no answer) is not polled again: it goes to staff (relay state manual) with the reason.
ORDERS_REFILL_POLL_FAILURES_MAX = env.int("ORDERS_REFILL_POLL_FAILURES_MAX", default=5)
# R-ORD-11: a subscription runs a cycle this often; it pauses after this many skipped in a row.
ORDERS_SUBSCRIPTION_CYCLE_MINUTES = env.float("ORDERS_SUBSCRIPTION_CYCLE_MINUTES", default=60.0)
ORDERS_SUBSCRIPTION_MAX_SKIPPED = env.int("ORDERS_SUBSCRIPTION_MAX_SKIPPED", default=3)
CELERY_BEAT_SCHEDULE["orders-dripfeed-due"] = {
    "task": "orders.dripfeed_due",
    "schedule": ORDERS_DUE_SECONDS,
}
CELERY_BEAT_SCHEDULE["orders-subscriptions-due"] = {
    "task": "orders.subscriptions_due",
    "schedule": ORDERS_DUE_SECONDS,
}
CELERY_BEAT_SCHEDULE["orders-refills-due"] = {
    "task": "orders.refills_due",
    "schedule": ORDERS_DUE_SECONDS,
}

# --- read cache (issue 15): what every API add reads, with explicit invalidation -------------
# smmpanel/readcache.py: API key -> account, services, custom rates, blocked patterns, the
# panel's ledger accounts, behind version stamps bumped by their writers. Only on a shared
# cache (Redis): a process-local cache could not be invalidated across processes. 0 = off.
READ_CACHE_SECONDS = env.int("READ_CACHE_SECONDS", default=300 if REDIS_URL else 0)

# --- scale-out (issue 15): Postgres behind PgBouncer in transaction pooling -----------------
# README "Scale-out". A pooled server connection serves many clients between transactions:
# no cursor may outlive its transaction (Django's .iterator() otherwise declares WITH HOLD
# cursors), so DATABASE_POOLED=1 (docker-compose.yml sets it) turns server-side cursors off.
# DATABASE_SERVER_SIDE_BINDING=1 switches psycopg to server-side binding, which prepares
# statements it runs often (needs PgBouncer >= 1.21 with max_prepared_statements > 0 when pooled;
# measured in README: Performance).
if USES_POSTGRES:
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DATABASE_POOLED", default=False)
    if env.bool("DATABASE_SERVER_SIDE_BINDING", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
