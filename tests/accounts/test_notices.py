from allauth.account.models import EmailAddress
from django.core import mail

from accounts.models import Notice
from accounts.services import notice_email, notice_send, notices_mark_read


def test_a_notice_is_shown_and_mailed_once_after_commit(
    customer, django_capture_on_commit_callbacks
):  # R-DOR-7
    with django_capture_on_commit_callbacks(execute=True):
        notice = notice_send(
            user=customer, kind="test", subject="Hello", body="Body", url="/orders/"
        )
    notice.refresh_from_db()
    assert notice.emailed_at is not None
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [customer.email]
    assert "/orders/" in mail.outbox[0].body
    # Running the task again sends nothing more.
    assert notice_email(notice_id=notice.id) is False
    assert len(mail.outbox) == 1


def test_unverified_addresses_get_no_mail_but_see_the_notice(
    customer, django_capture_on_commit_callbacks
):  # R-ACC-3
    EmailAddress.objects.filter(user=customer).update(verified=False)
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(user=customer, kind="test", subject="Hello")
    assert mail.outbox == []
    assert Notice.objects.filter(user=customer, emailed_at__isnull=True).count() == 1
    assert notices_mark_read(user=customer) == 1
