"""The claim-window beat on a real Celery worker and beat over Redis (R-ORD-14)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from support.exceptions import ClaimRefused
from support.models import ClaimWindow
from support.services import claim_check
from tests.orders.celery_worker import wait_for
from tests.orders.factories import OrderFactory
from tests.support.helpers import finish

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.mark.usefixtures("celery_worker")
def test_the_beat_closes_expired_claim_windows(customer):  # R-ORD-14, R-WDR-6
    expired = finish(OrderFactory(user=customer))
    current = finish(OrderFactory(user=customer))
    ClaimWindow.objects.filter(order=expired).update(
        closes_at=timezone.now() - timedelta(seconds=1)
    )
    window = wait_for(
        lambda: ClaimWindow.objects.filter(order=expired, closed_at__isnull=False).first(),
        timeout=30,
        what="the beat to close the expired claim window",
    )
    assert window.closed_at >= window.closes_at
    assert ClaimWindow.objects.get(order=current).closed_at is None
    with pytest.raises(ClaimRefused, match="claim window"):
        claim_check(order=expired)
    assert claim_check(order=current)


@pytest.mark.usefixtures("celery_worker")
def test_a_staff_reply_is_mailed_once_by_the_worker_after_commit(customer):  # R-SUP-2
    from accounts.models import Notice
    from accounts.services import notice_email
    from support.services import ticket_open, ticket_reply_staff
    from tests.factories import StaffFactory

    ticket = ticket_open(user=customer, kind="other", subject="Hello", body="Question")
    ticket_reply_staff(ticket_id=ticket.pk, actor=StaffFactory(), body="The answer.")
    notice = wait_for(
        lambda: Notice.objects.filter(user=customer, emailed_at__isnull=False).first(),
        timeout=30,
        what="the worker to mail the reply notice",
    )
    assert notice.kind == "ticket_reply"
    assert Notice.objects.filter(user=customer).count() == 1
    assert notice_email(notice_id=notice.pk) is False  # once: a second run sends nothing
