"""R-ACC-5: staff suspend or terminate accounts; the reason is logged."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP

from accounts.exceptions import AccountStatusRefused
from accounts.models import AccountStatusChange
from accounts.selectors import api_key_user
from accounts.services import account_reinstate, account_suspend, account_terminate, api_key_issue
from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff():
    return StaffFactory()


def test_suspension_logs_the_reason_and_stops_the_key(customer, staff):  # R-ACC-5, R-KEY-3
    _, key = api_key_issue(user=customer)
    account_suspend(user=customer, reason="Chargeback under review", actor=staff)
    change = AccountStatusChange.objects.get(user=customer)
    assert (change.old_status, change.new_status) == ("active", "suspended")
    assert (change.reason, change.actor) == ("Chargeback under review", staff)
    assert api_key_user(key=key) is None

    account_reinstate(user=customer, reason="Resolved", actor=staff)
    assert api_key_user(key=key) == customer
    assert AccountStatusChange.objects.filter(user=customer).count() == 2


def test_a_reason_is_required_and_closed_is_final(customer, staff):  # R-ACC-5
    with pytest.raises(AccountStatusRefused):
        account_suspend(user=customer, reason="  ", actor=staff)
    account_terminate(user=customer, reason="Abuse", actor=staff)
    with pytest.raises(AccountStatusRefused):
        account_reinstate(user=customer, reason="Oops", actor=staff)
    customer.refresh_from_db()
    assert customer.status == "closed"


def test_a_suspended_account_cannot_sign_in(client, customer, staff):  # R-ACC-5
    account_suspend(user=customer, reason="Chargeback under review", actor=staff)
    response = client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    assert response.status_code == 403
    assert "This account is suspended" in response.content.decode()
    assert "Chargeback under review" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_signed_in_customer_is_signed_out_once_suspended(client, customer, staff):  # R-ACC-5
    client.force_login(customer)
    assert client.get("/dashboard/").status_code == 200
    account_suspend(user=customer, reason="Investigation", actor=staff)
    response = client.get("/orders/new/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_staff_suspend_through_the_admin_with_a_reason(client, customer):  # R-ACC-5
    staff = StaffFactory()
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    client.force_login(staff)
    form = {"action": "account_suspend", "_selected_action": [customer.pk]}
    asked = client.post("/admin/accounts/user/", form)
    assert asked.status_code == 200
    assert b"Suspend these accounts?" in asked.content
    customer.refresh_from_db()
    assert customer.status == "active"  # nothing happens before the reason is given

    client.post("/admin/accounts/user/", {**form, "apply": "1", "reason": "Fraud review"})
    customer.refresh_from_db()
    assert (customer.status, customer.status_reason) == ("suspended", "Fraud review")
    assert AccountStatusChange.objects.get(user=customer).actor == staff


def test_staff_are_not_signed_out_by_the_status_check(client):
    staff = StaffFactory()
    client.force_login(staff)
    assert client.get("/dashboard/").status_code == 200
    assert UserFactory().can_order
