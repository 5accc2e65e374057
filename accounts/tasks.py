from celery import shared_task

from .services import notice_email


@shared_task(name="accounts.notice_email")
def notice_email_task(notice_id: int) -> bool:
    return notice_email(notice_id=notice_id)


@shared_task(name="accounts.sign_ins_purge")
def sign_ins_purge_task() -> int:
    from .services import sign_ins_purge

    return sign_ins_purge()
