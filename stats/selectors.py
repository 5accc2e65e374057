import datetime as dt

from django.conf import settings
from django.utils import timezone

from .models import DailyFigures, DailyVisit, Snapshot


def dashboard_data(*, days: int | None = None) -> dict:
    """What the operator dashboard shows: the last ``days`` daily rows and the snapshot.
    A few indexed reads of small tables; never the orders table (R-PRV-2 bench: 200 ms)."""
    days = days or settings.STATS_DASHBOARD_DAYS
    since = timezone.now().date() - dt.timedelta(days=days - 1)
    rows = list(DailyFigures.objects.filter(day__gte=since).order_by("day"))
    snapshot = Snapshot.objects.filter(key="live").first()
    visits: dict = {}
    for page, count in (
        DailyVisit.objects.filter(day__gte=since).values_list("page", "count").iterator()
    ):
        visits[page] = visits.get(page, 0) + count
    countries: dict[str, int] = {}
    for row in rows:
        for code, count in row.countries.items():
            countries[code] = countries.get(code, 0) + count
    return {
        "days": days,
        "rows": rows,
        "snapshot": snapshot,
        "live": snapshot.data if snapshot else {},
        "top_pages": sorted(visits.items(), key=lambda item: -item[1])[:10],
        "countries": sorted(countries.items(), key=lambda item: -item[1])[:10],
    }
