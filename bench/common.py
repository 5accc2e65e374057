"""What the benchmarks share: Django on its own Postgres database, and percentiles.

Each script runs on a database of its own, ``<DATABASE_URL's name>_bench`` (created and
migrated on first use, kept afterwards), so a run never touches the development or the
test databases. Run from the project root, with the environment of the tests:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smmpanel REDIS_URL=redis://127.0.0.1:6379/15 \
        .venv/bin/python bench/mass_order.py
"""

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def django_on_bench_database():
    """Set Django up (the test settings: Postgres, Redis) on the bench database."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smmpanel.settings_test")
    import django
    from django.conf import settings

    settings.DATABASES["default"].setdefault("TEST", {})
    settings.DATABASES["default"]["TEST"]["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench"
    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True, serialize=False)
    settings.ALLOWED_HOSTS = ["*"]
    return connection


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def summary_ms(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"p50 {statistics.median(ms):7.2f} ms   p95 {percentile(ms, 95):7.2f} ms   "
        f"max {max(ms):7.2f} ms   (n={len(ms)})"
    )
