"""Staff roles for money going out: the "Finance" group holds the permissions; admin actions
call the services and answer 403 without the permission."""

from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from billing.models import Dispute, DormancyCase, Withdrawal
from billing.selectors import balance_get
from billing.services.withdrawals import withdrawal_request
from tests.billing.money_out import card_deposit
from tests.factories import StaffFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.usefixtures("stripe_settings")


def _staff(*, finance: bool, extra_perms=()):
    staff = StaffFactory(is_superuser=False)
    if finance:
        staff.groups.add(Group.objects.get(name="Finance"))
    for codename in extra_perms:
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")  # R-ACC-7: staff need TOTP for the admin
    return staff


def test_finance_group_holds_the_money_permissions(db):
    codenames = set(
        Group.objects.get(name="Finance").permissions.values_list("codename", flat=True)
    )
    assert {
        "approve_withdrawal",
        "verify_withdrawal",
        "offer_refund",
        "restore_dormant",
    } <= codenames


def test_finance_approves_through_the_admin_action(db, client, localstripe, assert_ledger_ok):
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    withdrawal = withdrawal_request(user=user)
    client.force_login(_staff(finance=True))
    url = reverse("admin:billing_withdrawal_changelist")
    assert client.get(url).status_code == 200
    response = client.post(url, {"action": "approve", "_selected_action": [withdrawal.pk]})
    assert response.status_code == 302
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PAID
    assert withdrawal.events.get(new_status="paying").actor.groups.filter(name="Finance").exists()
    assert_ledger_ok()


def test_staff_without_the_permission_get_403(db, client, localstripe):
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    withdrawal = withdrawal_request(user=user)
    client.force_login(_staff(finance=False, extra_perms=["view_withdrawal"]))
    url = reverse("admin:billing_withdrawal_changelist")
    assert client.get(url).status_code == 200
    for action in ("approve", "reject", "require_verification", "verify"):
        response = client.post(
            url, {"action": action, "_selected_action": [withdrawal.pk], "reason": "x"}
        )
        assert response.status_code == 403
    assert client.get(reverse("admin:billing_withdrawal_refund")).status_code == 403
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PENDING


def test_reject_needs_a_reason_and_returns_everything(db, client, localstripe):
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    withdrawal = withdrawal_request(user=user)
    client.force_login(_staff(finance=True))
    url = reverse("admin:billing_withdrawal_changelist")
    client.post(url, {"action": "reject", "_selected_action": [withdrawal.pk], "reason": ""})
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.PENDING
    client.post(url, {"action": "reject", "_selected_action": [withdrawal.pk], "reason": "KYC"})
    withdrawal.refresh_from_db()
    assert withdrawal.status == Withdrawal.Status.REJECTED
    assert balance_get(user=user).deposited == D("20.00")


def test_refund_page_shows_the_formula_then_offers(db, client, localstripe):  # R-WDR-2
    user = UserFactory()
    card_deposit(user, "50.00", localstripe, fee="1.75")
    client.force_login(_staff(finance=True))
    url = reverse("admin:billing_withdrawal_refund")
    data = {"customer": user.username, "method": "card", "reference": "ticket #9"}
    page = client.post(url, data).content.decode()
    assert "$48.25" in page  # 50.00 - 1.75
    assert not Withdrawal.objects.exists()
    response = client.post(url, {**data, "offer": "1"})
    assert response.status_code == 302
    offer = Withdrawal.objects.get()
    assert (offer.kind, offer.status, offer.amount) == (
        "refund",
        "awaiting_confirmation",
        D("48.25"),
    )


def test_staff_see_disputes_and_dormancy_cases(db, client):
    client.force_login(_staff(finance=True))
    assert client.get(reverse("admin:billing_dispute_changelist")).status_code == 200
    assert client.get(reverse("admin:billing_dormancycase_changelist")).status_code == 200
    assert Dispute.objects.count() == DormancyCase.objects.count() == 0


def test_finance_requires_verification_for_a_customer(db, client, localstripe):  # R-WDR-5
    user = UserFactory()
    card_deposit(user, "20.00", localstripe)
    client.force_login(_staff(finance=True))
    url = reverse("admin:billing_customerflag_require")
    response = client.post(url, {"customer": user.email, "note": "ID check"})
    assert response.status_code == 302
    assert withdrawal_request(user=user).requires_verification
    client.force_login(_staff(finance=False))
    assert client.get(url).status_code == 403
