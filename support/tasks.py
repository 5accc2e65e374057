"""Celery tasks of the support app: thin, named, safe to run twice."""

from celery import shared_task

from support.services import claim_windows_close


@shared_task(name="support.claim_windows_close")
def claim_windows_close_task() -> int:
    """Beat (``SUPPORT_CLAIM_CLOSE_SECONDS``): close claim windows whose time has passed."""
    return claim_windows_close()
