"""R-PRV-3: download my data, ask for correction, delete my data (anonymised, ledger kept)."""

import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
from django.test import Client
from django.test.utils import isolate_apps

from accounts.models import ApiKey, Notice, SignIn, User
from accounts.selectors import api_key_user
from accounts.services import api_key_issue, notice_send, sign_in_record
from billing.models import Deposit, Entry
from legal.models import Acceptance, DataExport, PrivacyRequest
from legal.privacy import data_export_request, data_export_token
from legal.services import acceptance_record
from orders.models import Order
from tests.factories import PASSWORD
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db
KINDS = {"profile", "orders", "balance_history", "deposits", "tickets", "sign_ins",
         "acceptances", "notices", "withdrawals", "refills", "subscriptions",
         "referrals"}  # fmt: skip


def _customer_with_data(service, terms, *, name: str):
    user = funded_customer(deposited="10", username=name)
    place(user, service, link=f"https://www.instagram.com/{name}-link/", quantity=100)
    Deposit.objects.create(user=user, method="manual", amount=Decimal("10"), status="failed")
    sign_in_record(user=user, ip_address="81.2.69.160")
    acceptance_record(user=user, document=terms, ip_address="81.2.69.160")
    notice_send(user=user, kind="test", subject=f"Hello {name}", email=False)
    return user


def _money_out_refills_subscriptions_referrals(user, *, name: str) -> None:
    """Rows of the other kinds (bare rows: for the export only, not for money)."""
    from billing.models import Commission, Referral, Withdrawal, WithdrawalRefund
    from catalog.models import Service
    from orders.models import Refill, Subscription, SubscriptionCycle
    from tests.catalog.factories import ServiceFactory
    from tests.factories import UserFactory
    from tests.orders.factories import OrderFactory

    deposit = Deposit.objects.filter(user=user).first()
    withdrawal = Withdrawal.objects.create(
        user=user, kind="refund", status="canceled", deposited=Decimal("10"),
        amount=Decimal("4"), reference=f"{name} ticket",
    )  # fmt: skip
    WithdrawalRefund.objects.create(withdrawal=withdrawal, deposit=deposit, amount=Decimal("4"))
    done = OrderFactory(user=user, status="completed")
    Refill.objects.create(order=done, user=user, status="rejected", reason=f"{name} refill")
    subs = OrderFactory(user=user, service=ServiceFactory(type=Service.Type.SUBSCRIPTIONS))
    subscription = Subscription.objects.create(
        order=subs, username=f"{name}-brand", min_quantity=50, max_quantity=100
    )
    SubscriptionCycle.objects.create(
        subscription=subscription, number=1, outcome="skipped", note=f"{name} cycle"
    )
    # Who referred this customer, and whom they referred, are other customers.
    sponsor = UserFactory(username=f"{name}-sponsor", email=f"{name}-sponsor@example.com")
    Referral.objects.create(referrer=sponsor, referred=user, signup_ip="198.51.100.7")
    friend = UserFactory(username=f"{name}-friend", email=f"{name}-friend@example.com")
    referral = Referral.objects.create(referrer=user, referred=friend, signup_ip="203.0.113.9")
    friends_deposit = Deposit.objects.create(
        user=friend, method="manual", amount=Decimal("20"), status="failed"
    )
    Commission.objects.create(
        referral=referral, deposit=friends_deposit, amount=Decimal("1"), status="credited"
    )


def _archive(client, capture) -> zipfile.ZipFile:
    with capture(execute=True):
        assert client.post("/account/privacy/export/").status_code == 302
    page = client.get("/account/privacy/").content.decode()
    assert "Ready to download." in page
    url = re.search(r'href="(/account/privacy/download/[^"]+)"', page).group(1)
    response = client.get(url)
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(response.content))


def test_export_has_every_kind_and_nothing_of_another_customer(
    client, routed_service, terms, django_capture_on_commit_callbacks
):  # R-PRV-3
    me = _customer_with_data(routed_service, terms, name="alice")
    mallory = _customer_with_data(routed_service, terms, name="mallory")
    for user, name in ((me, "alice"), (mallory, "mallory")):
        _money_out_refills_subscriptions_referrals(user, name=name)
    client.force_login(me)
    archive = _archive(client, django_capture_on_commit_callbacks)
    names = {name.removesuffix(".json") for name in archive.namelist() if name.endswith(".json")}
    assert names == KINDS
    everything = "".join(archive.read(name).decode() for name in archive.namelist())
    for absent in ("mallory", "alice-sponsor", "alice-friend", "203.0.113.9"):
        assert absent not in everything, absent  # nothing of another customer
    data = {kind: json.loads(archive.read(f"{kind}.json")) for kind in KINDS}
    assert data["profile"][0]["email"] == "alice@example.com"
    assert data["orders"][0]["link"] == "https://www.instagram.com/alice-link/"
    assert {row["account__kind"] for row in data["balance_history"]} == {"deposited"}
    assert data["deposits"][0]["amount"] == "10.00000"
    assert data["sign_ins"][0]["country"] == "GB"
    assert data["acceptances"][0]["document__kind"] == "terms"
    assert data["notices"][0]["subject"] == "Hello alice"
    assert isinstance(data["tickets"], dict)
    (withdrawal,) = data["withdrawals"]
    assert (withdrawal["kind"], withdrawal["amount"]) == ("refund", "4.00000")
    assert withdrawal["reference"] == "alice ticket"
    assert [p["amount"] for p in withdrawal["payouts"]] == ["4.00000"]
    assert [r["reason"] for r in data["refills"]] == ["alice refill"]
    (subscription,) = data["subscriptions"]
    assert subscription["username"] == "alice-brand"
    assert [c["note"] for c in subscription["cycles"]] == ["alice cycle"]
    referrals = data["referrals"]
    assert referrals["you_were_referred"]["signup_ip"] == "198.51.100.7"
    (sign_up,) = referrals["sign_ups_you_referred"]
    assert [(c["amount"], c["status"]) for c in sign_up["commissions"]] == [("1.00000", "credited")]


def test_the_link_expires_and_is_only_the_owners(
    client, customer, settings, django_capture_on_commit_callbacks
):  # R-PRV-3
    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly in tests
        export = data_export_request(user=customer)
    export = DataExport.objects.get(pk=export.pk)
    assert export.status == "ready"
    assert export.progress == "Ready to download."
    url = f"/account/privacy/download/{data_export_token(export=export)}/"
    client.force_login(customer)
    assert client.get(url).status_code == 200
    other = Client()
    other.force_login(funded_customer())
    assert other.get(url).status_code == 404
    settings.PRIVACY_EXPORT_LINK_HOURS = -1  # every link is past its time
    assert client.get(url).status_code == 404


def test_correction_request_is_kept(client, customer):  # R-PRV-3
    client.force_login(customer)
    assert client.post("/account/privacy/correction/", {"text": ""}).status_code == 400
    client.post("/account/privacy/correction/", {"text": "My name is spelt Zoë"})
    request = PrivacyRequest.objects.get(user=customer)
    assert (request.kind, request.text, request.status) == (
        "correction",
        "My name is spelt Zoë",
        "open",
    )


def test_deletion_anonymises_keeps_the_ledger_and_signs_out_everywhere(
    client, routed_service, terms, assert_ledger_ok
):  # R-PRV-3
    me = _customer_with_data(routed_service, terms, name="alice")
    Order.objects.filter(user=me).update(status="completed")
    _, key = api_key_issue(user=me)
    entries = Entry.objects.filter(account__user=me).count()
    elsewhere = Client()
    elsewhere.force_login(me)
    assert elsewhere.get("/account/").status_code == 200

    client.force_login(me)
    wrong = client.post("/account/privacy/delete/", {"password": "nope", "confirm": "DELETE"})
    assert "That is not your password." in wrong.content.decode()
    response = client.post("/account/privacy/delete/", {"password": PASSWORD, "confirm": "DELETE"})
    assert response.status_code == 302

    me.refresh_from_db()
    assert me.username == f"erased-{me.pk}"
    assert "alice" not in me.email
    assert (me.status, me.is_active, me.has_usable_password()) == ("closed", False, False)
    assert api_key_user(key=key) is None
    assert not ApiKey.objects.filter(user=me, revoked_at=None).exists()
    assert not SignIn.objects.filter(user=me).exists()
    assert not Notice.objects.filter(user=me).exists()
    assert list(Acceptance.objects.filter(user=me).values_list("ip_address", flat=True)) == [None]
    assert Order.objects.filter(user=me).count() == 1  # kept for accounting
    assert Entry.objects.filter(account__user=me).count() == entries
    assert elsewhere.get("/account/").status_code == 302  # signed out there too
    assert PrivacyRequest.objects.get(user=me).kind == "deletion"
    assert_ledger_ok()


def test_deletion_waits_for_active_orders(client, routed_service, terms):  # R-PRV-3
    me = _customer_with_data(routed_service, terms, name="alice")
    client.force_login(me)
    response = client.post("/account/privacy/delete/", {"password": PASSWORD, "confirm": "DELETE"})
    assert "orders in progress" in response.content.decode()
    assert User.objects.get(pk=me.pk).username == "alice"


def test_deletion_waits_for_an_investigation(client, customer):  # R-PRV-3, R-AUP-2
    from legal.services import account_hold
    from tests.factories import StaffFactory

    account_hold(user=customer, reason="Fraud review", actor=StaffFactory())
    client.force_login(customer)
    response = client.post("/account/privacy/delete/", {"password": PASSWORD, "confirm": "DELETE"})
    assert "under review" in response.content.decode()
    assert User.objects.get(pk=customer.pk).is_active


@isolate_apps("support")
def test_support_rows_are_found_through_their_owner():  # R-PRV-3 (tickets with attachments)
    """Whatever the support desk's models are, the export finds the customer's rows."""
    from django.conf import settings as django_settings
    from django.db import models

    from legal.privacy import _user_path

    class Ticket(models.Model):  # noqa: DJ008
        user = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

        class Meta:
            app_label = "support"

    class Message(models.Model):  # noqa: DJ008
        ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE)
        author = models.ForeignKey(
            django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
        )
        attachment = models.FileField()

        class Meta:
            app_label = "support"

    class AbuseReport(models.Model):  # noqa: DJ008
        reporter = models.ForeignKey(django_settings.AUTH_USER_MODEL, on_delete=models.CASCADE)

        class Meta:
            app_label = "support"

    assert _user_path(Ticket) == "user"
    assert _user_path(Message) == "ticket__user"  # staff replies on the customer's ticket too
    assert _user_path(AbuseReport) == "reporter"


def test_export_has_my_tickets_messages_and_screenshots_not_staff_notes(
    client, settings, tmp_path, django_capture_on_commit_callbacks
):  # R-PRV-3: support tickets, their messages (no internal notes) and attachments
    from support.models import Ticket
    from support.services import ticket_open, ticket_reply_staff
    from tests.factories import StaffFactory, UserFactory
    from tests.support import helpers

    settings.STORAGES = {
        **settings.STORAGES,
        "support_private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": "/no-public-url/"},
        },
    }
    me, other, agent = UserFactory(username="alice"), UserFactory(), StaffFactory()
    mine = ticket_open(user=me, kind=Ticket.Kind.OTHER, subject="Where is my order",
                       body="It has not started.", uploads=[helpers.png("mine.png")])  # fmt: skip
    ticket_reply_staff(ticket_id=mine.pk, actor=agent, body="Looking into it now.",
                       uploads=[helpers.png("answer.png")])  # fmt: skip
    ticket_reply_staff(ticket_id=mine.pk, actor=agent, body="Staff only: a reseller",
                       internal=True, uploads=[helpers.png("note.png")])  # fmt: skip
    theirs = ticket_open(user=other, kind=Ticket.Kind.OTHER, subject="Mallory's problem",
                         body="Mallory's words", uploads=[helpers.png("theirs.png")])  # fmt: skip

    client.force_login(me)
    archive = _archive(client, django_capture_on_commit_callbacks)
    everything = "".join(
        archive.read(name).decode() for name in archive.namelist() if name.endswith(".json")
    )
    tickets = json.loads(archive.read("tickets.json"))
    assert [t["subject"] for t in tickets["ticket"]] == ["Where is my order"]
    assert [m["body"] for m in tickets["ticketmessage"]] == [
        "It has not started.",
        "Looking into it now.",
    ]
    files = [name for name in archive.namelist() if name.startswith("attachments/")]
    assert len(files) == 2  # the customer's screenshot and the one in staff's answer
    assert sorted(a["original_name"] for a in tickets["attachment"]) == ["answer.png", "mine.png"]
    for row in tickets["attachment"]:
        assert archive.read(row["file"])[:8] == b"\x89PNG\r\n\x1a\n"
    for absent in ("Staff only", "note.png", "Mallory", "theirs.png", theirs.subject):
        assert absent not in everything, absent


def test_deletion_anonymises_referral_ip_and_abuse_reports_and_says_what_is_kept(
    client, routed_service, terms
):  # R-PRV-3: what need not be kept goes; what is kept is listed on the Privacy page
    from billing.models import Referral
    from legal.privacy import account_erase
    from support.models import AbuseReport, Ticket, TicketMessage
    from support.services import ticket_open
    from tests.factories import UserFactory

    me = _customer_with_data(routed_service, terms, name="alice")
    Order.objects.filter(user=me).update(status="completed")
    client.force_login(me)
    page = client.get("/account/privacy/").content.decode()
    for kept in ("What we keep, and why", "support tickets", "card fingerprint"):
        assert kept in page

    sponsor = UserFactory(username="sponsor")
    referral = Referral.objects.create(referrer=sponsor, referred=me, signup_ip="198.51.100.7")
    report = {"link": "https://www.instagram.com/x/", "description": "Spam everywhere here"}
    signed_in = AbuseReport.objects.create(
        reporter=me, email="alice@example.com", ip_address="198.51.100.7", **report
    )
    signed_out = AbuseReport.objects.create(
        email="ALICE@example.com", ip_address="198.51.100.8", **report
    )
    someone = AbuseReport.objects.create(
        email="bob@example.com", ip_address="203.0.113.5", **report
    )
    ticket = ticket_open(user=me, kind=Ticket.Kind.OTHER, subject="Refund", body="Please.")

    account_erase(user=me)

    referral.refresh_from_db()
    assert (referral.referrer, referral.signup_ip) == (sponsor, None)
    for anonymised in (signed_in, signed_out):
        anonymised.refresh_from_db()
        assert (anonymised.email, anonymised.ip_address) == ("", None)
        assert anonymised.description == "Spam everywhere here"  # what was reported stays
    someone.refresh_from_db()
    assert (someone.email, someone.ip_address) == ("bob@example.com", "203.0.113.5")
    assert TicketMessage.objects.filter(ticket=ticket, body="Please.").exists()  # kept, listed
