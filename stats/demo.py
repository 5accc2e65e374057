"""Demo data: the statistics computed once, so the operator dashboard has figures at once
(the beat task ``stats.refresh`` keeps them fresh)."""

from django.conf import settings

from .services import stats_refresh


def seed(stdout) -> None:
    stats_refresh(days=settings.STATS_DASHBOARD_DAYS)
    stdout.write("  operator dashboard: /staff/dashboard/ (as the admin)")
