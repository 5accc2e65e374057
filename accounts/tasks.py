from celery import shared_task

from .services import notice_email


@shared_task(name="accounts.notice_email")
def notice_email_task(notice_id: int) -> bool:
    return notice_email(notice_id=notice_id)
