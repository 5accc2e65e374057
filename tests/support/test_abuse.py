"""The abuse queue (R-SUP-4): anyone reports; spam guards; its own statuses; rate limit."""

import time

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.roles import FINANCE, SUPPORT
from support.forms import FORM_SALT
from support.models import AbuseReport, Attachment
from tests.support import helpers

pytestmark = pytest.mark.django_db


def _token(seconds_ago: int = 60) -> str:
    return signing.TimestampSigner(salt=FORM_SALT).sign(str(int(time.time()) - seconds_ago))


def _report(client, **fields):
    data = {
        "link": "https://www.instagram.com/p/stolen-content/",
        "order_reference": "",
        "description": "This order boosts a page that impersonates me.",
        "email": "victim@example.com",
        "website": "",
        "token": _token(),
        **fields,
    }
    return client.post(reverse("abuse:report"), data)


def test_anyone_can_report_with_evidence(client):  # R-SUP-4
    page = client.get(reverse("abuse:report"))
    assert page.status_code == 200
    assert 'name="website"' in page.content.decode()  # the honeypot is in the page
    response = _report(client, evidence=[helpers.png("proof.png")])
    assert response.status_code == 200
    report = AbuseReport.objects.get()
    assert report.status == AbuseReport.Status.NEW
    assert report.reporter is None
    assert report.ip_address == "127.0.0.1"
    assert Attachment.objects.get(abuse_report=report).content_type == "image/png"
    assert report.events.get().new_status == "new"


def test_the_report_keeps_the_clients_address_behind_a_trusted_proxy(settings):  # R-SUP-4
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxied = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert _report(proxied).status_code == 200
    assert AbuseReport.objects.get().ip_address == "203.0.113.7"


def test_the_home_page_footer_links_to_the_report_form(client):  # R-SUP-4
    assert reverse("abuse:report") in client.get(reverse("home")).content.decode()


def test_a_report_needs_a_link_or_order_and_real_images(client):  # R-SUP-4
    response = _report(client, link="", order_reference="")
    assert "Give the link or the order reference" in str(response.context["form"].errors)
    response = _report(client, evidence=[helpers.svg_with_script()])
    assert "is not a PNG, JPEG, GIF or WebP image" in str(response.context["form"].errors)
    assert not AbuseReport.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (lambda: {"website": "http://spam.example"}, "could not be accepted"),
        (lambda: {"token": "forged:token"}, "could not be accepted"),
        (lambda: {"token": _token(seconds_ago=0)}, "That was quick"),
        (lambda: {"token": _token(seconds_ago=3 * 86400)}, "could not be accepted"),
    ],
)
def test_spam_is_refused_without_a_captcha(client, fields, message):  # R-SUP-4
    response = _report(client, **fields())
    assert message in str(response.context["form"].non_field_errors())
    assert not AbuseReport.objects.exists()


def test_reports_are_rate_limited_per_ip(client, settings):  # R-SUP-4, R-AUP-4
    settings.SUPPORT_ABUSE_RATE_LIMIT = "2/h"
    _report(client)
    _report(client)
    response = _report(client)
    assert "Too many reports from your address" in str(response.context["form"].errors)
    assert AbuseReport.objects.count() == 2
    other_ip = Client(REMOTE_ADDR="10.1.2.3")
    _report(other_ip)
    assert AbuseReport.objects.count() == 3


def test_staff_work_the_abuse_queue_with_its_own_statuses(client):  # R-SUP-4
    _report(Client(), evidence=[helpers.png()])
    report = AbuseReport.objects.get()
    evidence = Attachment.objects.get(abuse_report=report)
    agent = helpers.staff_with_role(SUPPORT)
    client.force_login(agent)
    queue = client.get(reverse("desk:abuse"))
    assert [r.pk for r in queue.context["reports"]] == [report.pk]
    assert client.get(reverse("support:attachment", args=[evidence.pk])).status_code == 200
    url = reverse("desk:abuse_detail", args=[report.pk])
    client.post(url, {"status": "investigating", "note": "Checking the page"})
    client.post(url, {"status": "actioned", "note": "Orders canceled"})
    report.refresh_from_db()
    assert report.status == AbuseReport.Status.ACTIONED
    assert list(report.events.values_list("new_status", flat=True)) == [
        "new", "investigating", "actioned"
    ]  # fmt: skip
    response = client.post(url, {"status": "new"})
    assert "cannot become New" in response.content.decode()
    # Finance is not in the abuse queue; nobody outside staff sees the evidence.
    client.force_login(helpers.staff_with_role(FINANCE))
    assert client.get(reverse("desk:abuse")).status_code == 403
    anonymous = Client()
    assert anonymous.get(reverse("support:attachment", args=[evidence.pk])).status_code == 404


def test_admins_move_abuse_reports_through_the_service(client):  # R-SUP-4
    from accounts.roles import ADMIN

    _report(Client())
    report = AbuseReport.objects.get()
    client.force_login(helpers.staff_with_role(ADMIN))
    changelist = reverse("admin:support_abusereport_changelist")
    assert (
        client.get(reverse("admin:support_abusereport_change", args=[report.pk])).status_code == 200
    )
    assert client.get(reverse("admin:support_abusereport_add")).status_code == 403
    client.post(changelist, {"action": "mark_rejected", "_selected_action": [report.pk]})
    report.refresh_from_db()
    assert report.status == AbuseReport.Status.REJECTED
    assert report.events.last().actor is not None
