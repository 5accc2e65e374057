"""Settings, all read from the environment (12-factor).

With nothing set the panel runs on the *embedded default*: SQLite under
``var/``, a Celery broker on the filesystem (kombu's filesystem transport) and
a process-local cache. With ``DATABASE_URL`` and ``REDIS_URL`` set it runs on
Postgres and Redis; the code paths are the same.
"""

import secrets
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
USES_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, Celery -----------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache, one redis client per pool (smmpanel/cache.py, issue 15).
            "BACKEND": "smmpanel.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="smm"),
        }
    }
    CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
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
