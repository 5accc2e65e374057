"""Production settings and the production-like stack (docker-compose.yml, Dockerfile).

Docker cannot run here, so the compose file is checked against the code: every
service's command starts something that exists, and every variable it sets is one
that the settings read.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
SETTINGS_SOURCE = (ROOT / "smmpanel" / "settings.py").read_text()
SETTINGS_VARS = set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z_]+)["']""", SETTINGS_SOURCE))
APP_SERVICES = ["web", "worker", "beat", "migrate"]


def _production_env(**extra) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", str(ROOT)),
        "DJANGO_SETTINGS_MODULE": "smmpanel.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "panel.example.com",
        "DATABASE_URL": os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smmpanel"
        ),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        "EMAIL_URL": "smtp://mail.example.com:587",
    }
    env.update(extra)
    return env


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        check=False,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_safe():
    code = (
        "from django.conf import settings as s; "
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS > 0, s.EMAIL_BACKEND)"
    )
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        check=False,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False", "True", "True", "True", "True", "django.core.mail.backends.smtp.EmailBackend",
    ]  # fmt: skip


def test_compose_has_the_whole_stack_with_health_checks():
    assert {"web", "worker", "beat", "postgres", "redis", "pgbouncer"} <= set(SERVICES)
    for name in ["web", "worker", "beat", "postgres", "redis", "pgbouncer"]:
        assert "healthcheck" in SERVICES[name], name
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_compose_commands_start_what_the_code_defines():
    web = SERVICES["web"]["command"]
    assert web[0] == "gunicorn"
    module, attribute = web[1].split(":")
    assert module == "smmpanel.wsgi"
    assert attribute == "application"
    assert "application =" in (ROOT / "smmpanel" / "wsgi.py").read_text()
    assert "--bind" in web
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "smmpanel", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "smmpanel", "beat"]
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--no-input"]
    # The image's default command is the web command.
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd) == web


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_env_is_what_the_settings_read(name):
    env = SERVICES[name]["environment"]
    unknown = set(env) - SETTINGS_VARS
    assert not unknown, f"{name} sets variables the settings never read: {unknown}"
    for required in ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DEBUG"]:
        assert required in env, f"{name} lacks {required}"
    assert env["DEBUG"] == "0"
    assert ":?" in env["SECRET_KEY"], "SECRET_KEY must be required, never defaulted"


def _database(service: str):
    url = SERVICES[service]["environment"]["DATABASE_URL"]
    return urlparse(url.replace("${POSTGRES_PASSWORD:-smmpanel}", "pw"))


def test_compose_urls_point_at_compose_services():
    env = SERVICES["web"]["environment"]
    # The app reaches Postgres through PgBouncer (transaction pooling, issue 15), which
    # points at the postgres service; migrations go to Postgres directly.
    database = _database("web")
    assert database.scheme == "postgres"
    assert (database.hostname, database.port) == ("pgbouncer", 6432)
    assert env["DATABASE_POOLED"] == "1"  # no cursor outlives its transaction
    bouncer = SERVICES["pgbouncer"]["environment"]
    assert bouncer["DB_HOST"] == "postgres"
    assert bouncer["DB_NAME"] == database.path.lstrip("/")
    assert bouncer["DB_USER"] == database.username
    assert (_database("migrate").hostname, _database("migrate").port) == ("postgres", 5432)
    postgres_env = SERVICES["postgres"]["environment"]
    assert database.path.lstrip("/") == postgres_env["POSTGRES_DB"]
    assert database.username == postgres_env["POSTGRES_USER"]
    redis = urlparse(env["REDIS_URL"])
    assert redis.hostname == "redis"
    assert redis.port == 6379
