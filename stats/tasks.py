from celery import shared_task

from .services import stats_refresh


@shared_task(name="stats.refresh")
def stats_refresh_task() -> int:
    return stats_refresh()
