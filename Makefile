# The two set-up commands of the README: `make run` and `make test`.
VENV    ?= .venv
PY      := $(VENV)/bin/python
PORT    ?= 8000
PYTHON  ?= python3
STRIPE_DEV_PORT ?= 8420
# `make run`: development settings, demo orders polled often, cards paid to a local Stripe
# (localstripe, `stripe` in the Procfile) with the test card 4242 4242 4242 4242.
RUN_ENV := DEBUG=1 DEMO_TOTP_CODE=000000 ORDERS_POLL_SECONDS=10 STRIPE_DEV_PORT=$(STRIPE_DEV_PORT) SITE_URL=http://127.0.0.1:$(PORT) \
	STRIPE_SECRET_KEY=sk_test_localstripe STRIPE_PUBLISHABLE_KEY=pk_test_localstripe \
	STRIPE_WEBHOOK_SECRET=whsec_localstripe STRIPE_API_BASE=http://127.0.0.1:$(STRIPE_DEV_PORT) \
	STRIPE_JS_URL=http://127.0.0.1:$(STRIPE_DEV_PORT)/js.stripe.com/v3/

.PHONY: run test lint fmt services bench-api-add lock lock-upgrade typecheck spec

# --- reproducible builds (issue 14) ---
# The venv gets exactly the versions in requirements-dev.lock (hash-checked), then the
# project itself without resolving anything. `make lock` rewrites the locks from
# pyproject.toml, keeping every pin that still fits; `make lock-upgrade` takes the newest.
LOCK_ARGS := pyproject.toml --generate-hashes --universal --python-version 3.11 -q
$(VENV)/.installed: pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install -q --no-deps -e .
	touch $@

lock: $(VENV)/.installed
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) --extra dev --custom-compile-command "make lock" \
		-o requirements-dev.lock $(LOCK_FLAGS)
	$(VENV)/bin/uv pip compile $(LOCK_ARGS) --custom-compile-command "make lock" \
		-c requirements-dev.lock -o requirements.lock

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

# mypy with django-stubs on every app's services and selectors (config: pyproject.toml).
typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# docs/spec/ is the project's copy of the spec it follows (a fresh clone is complete);
# refresh it from the steering copy beside the checkout when there is one.
SPEC_SRC ?= ../shared/spec
spec:
	@if [ -d "$(SPEC_SRC)" ]; then cp "$(SPEC_SRC)"/*.md docs/spec/ && echo "docs/spec/ refreshed from $(SPEC_SRC)"; \
	else echo "no $(SPEC_SRC): docs/spec/ kept as committed"; fi
# --- end reproducible builds ---

# The panel on the embedded default (SQLite, filesystem broker), with demo data,
# a Celery worker and beat; stop with Ctrl-C.
run: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --no-input -v0
	$(RUN_ENV) $(PY) manage.py demo_data
	@echo "smmpanel: http://127.0.0.1:$(PORT)/  (demo logins above)"
	$(RUN_ENV) WEB_PORT=$(PORT) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -f Procfile start

services:
	@scripts/ensure-services

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Lint, Django's checks, migrations in sync, then the whole suite on Postgres and Redis.
test: $(VENV)/.installed services lint typecheck
	DJANGO_SETTINGS_MODULE=smmpanel.settings_test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=smmpanel.settings_test $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# bench/api_add.py: the API's add (many accounts, hot wallet) and status against pgbench on the
# same SQL and on a fixed reference transaction; BENCH_ARGS="--seconds 5 --workers 4" etc.
bench-api-add: $(VENV)/.installed services
	$(PY) bench/api_add.py $(BENCH_ARGS)
