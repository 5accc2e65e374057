"""Email notices customers expect, each with an on/off switch on the account page (issue 14).

The in-account notice always shows; a switch only stops the mail; the dormancy notices the
rules require (R-DOR-2, R-DOR-4) stay on. Order Partial/Canceled and deposit credited are told
once, mailed after commit, as text + HTML."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Notice, NoticeMailOff
from accounts.notices import MAIL_SWITCHES, mail_switch_for
from accounts.services import notice_mail_set, notice_send
from billing.services import deposit_manual_create
from orders.services import order_cancel_request, order_staff_partial
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
D = Decimal


def subjects() -> list[str]:
    """The mails' subjects without the site's prefix."""
    return [message.subject.split("] ", 1)[-1] for message in mail.outbox]


def test_every_kind_the_issue_names_has_a_switch():
    for kind in ("order_partial", "order_canceled", "deposit_credited", "ticket_reply"):
        assert mail_switch_for(kind) is not None, kind
    assert mail_switch_for("terms_v3").key == "terms"
    assert mail_switch_for("dormancy_freeze").required  # R-DOR-2
    assert mail_switch_for("dormancy_forfeit").required  # R-DOR-4
    assert mail_switch_for("withdrawal") is None  # not switchable: always mailed


def test_a_switched_off_kind_shows_but_is_not_mailed(customer, django_capture_on_commit_callbacks):
    notice_mail_set(user=customer, switch="tickets", on=False)
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(user=customer, kind="ticket_reply", subject="Support replied")
        notice_send(user=customer, kind="deposit_credited", subject="Deposit credited")
    assert Notice.objects.filter(user=customer).count() == 2  # both in the account
    assert subjects() == ["Deposit credited"]
    notice_mail_set(user=customer, switch="tickets", on=True)
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(user=customer, kind="ticket_reply", subject="Support replied again")
    assert len(mail.outbox) == 2


def test_required_dormancy_notices_cannot_be_switched_off(
    customer, django_capture_on_commit_callbacks
):  # R-DOR-2, R-DOR-4
    notice_mail_set(user=customer, switch="dormancy", on=False)
    assert not NoticeMailOff.objects.filter(user=customer).exists()
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(user=customer, kind="dormancy_freeze", subject="Your balance will freeze")
    assert len(mail.outbox) == 1


def test_the_mail_is_text_and_html(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notice_send(
            user=customer, kind="ticket_reply", subject="Re: <help>", body="A & B", url="/tickets/"
        )
    message = mail.outbox[0]
    assert "A & B" in message.body
    assert "/tickets/" in message.body
    assert reverse("accounts:overview") in message.body  # where to switch it off
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert "A &amp; B" in html
    assert "Re: &lt;help&gt;" in html
    assert 'href="http' in html
    assert "/tickets/" in html


def test_account_page_switches(client, customer):
    client.force_login(customer)
    page = client.get(reverse("accounts:overview")).content.decode()
    for switch in MAIL_SWITCHES:
        assert f'id="mail-{switch.key}"' in page
    assert 'value="dormancy" id="mail-dormancy" checked disabled' in page
    response = client.post(reverse("accounts:notice_mail"), {"mail": ["deposits", "dormancy"]})
    assert response.status_code == 302
    off = set(NoticeMailOff.objects.filter(user=customer).values_list("switch", flat=True))
    assert off == {"orders", "tickets", "terms"}
    page = client.get(reverse("accounts:overview")).content.decode()
    assert 'value="deposits" id="mail-deposits" checked' in page
    assert 'value="orders" id="mail-orders">' in page
    client.logout()
    assert client.post(reverse("accounts:notice_mail"), {}).status_code == 302  # to sign in
    assert NoticeMailOff.objects.filter(user=customer).count() == 3


@pytest.fixture
def service():
    return ServiceFactory(rate=D("2.00"), min_quantity=10, max_quantity=10000, cancel=True)


def test_canceled_order_notice_with_the_amount_returned_once_after_commit(
    service, django_capture_on_commit_callbacks
):
    user = funded_customer(deposited="5")
    order = place(user, service, quantity=1000)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        order_cancel_request(user=user, order=order)
        assert mail.outbox == []  # nothing before commit
    assert callbacks
    notices = Notice.objects.filter(user=user, kind="order_canceled")
    assert notices.count() == 1
    assert "$2.00 returned" in notices.get().subject
    assert subjects() == [f"Order #{order.pk} was canceled: $2.00 returned"]


def test_partial_order_notice_once(service, django_capture_on_commit_callbacks):
    user = funded_customer(deposited="5")
    order = place(user, service, quantity=1000)
    with django_capture_on_commit_callbacks(execute=True):
        order_staff_partial(order_id=order.pk, remains=250, actor=StaffFactory(), reason="x")
    notice = Notice.objects.get(user=user, kind="order_partial")
    assert "$0.50 returned" in notice.subject  # 2.00 x 250 / 1000
    assert "250 of 1000" in notice.body
    assert len([m for m in mail.outbox if "Partial" in m.subject]) == 1


def test_order_mail_switched_off_still_shows_the_notice(
    service, django_capture_on_commit_callbacks
):
    user = funded_customer(deposited="5")
    notice_mail_set(user=user, switch="orders", on=False)
    order = place(user, service, quantity=1000)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel_request(user=user, order=order)
    assert Notice.objects.filter(user=user, kind="order_canceled").count() == 1
    assert mail.outbox == []


def test_deposit_credited_notice_once_after_commit(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        deposit = deposit_manual_create(user=customer, amount=D("7.50"), memo="bank transfer")
        assert mail.outbox == []
    notice = Notice.objects.get(user=customer, kind="deposit_credited")
    assert notice.subject == f"Deposit #{deposit.pk} credited: $7.50"
    assert notice.url == reverse("billing:deposit_detail", args=[deposit.pk])
    assert subjects() == [notice.subject]
