import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)

from tests.factories import PASSWORD, StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_admin_redirects_visitors_to_the_panel_sign_in(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    response = client.get(response.url)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_staff_without_totp_cannot_open_admin(client):  # R-ACC-7
    staff = StaffFactory()
    client.force_login(staff)
    response = client.get("/admin/", follow=True)
    # Sent to set up TOTP (allauth asks for the password again first), never into the admin.
    final_url = response.redirect_chain[-1][0]
    assert "/accounts/2fa/totp/activate" in final_url.replace("%2F", "/")
    assert b"two-factor authentication (TOTP)" in response.content
    assert client.get("/admin/accounts/user/").status_code == 302


def test_staff_with_totp_opens_admin(client):  # R-ACC-7
    staff = StaffFactory()
    TOTP.activate(staff, "JBSWY3DPEHPK3PXP")
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/accounts/user/").status_code == 200


def test_customers_never_open_admin(client):
    client.force_login(UserFactory())
    response = client.get("/admin/")
    assert response.status_code == 302
    assert not Authenticator.objects.exists()


def test_any_user_can_turn_on_totp_and_then_needs_a_code_to_sign_in(client, customer):  # R-ACC-7
    client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.url.startswith("/accounts/reauthenticate/")  # confirm the password first
    client.post(response.url, {"password": PASSWORD})
    response = client.get("/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    secret = response.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = client.post("/accounts/2fa/totp/activate/", {"code": code})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=customer, type=Authenticator.Type.TOTP).exists()

    client.logout()
    response = client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    assert response.url == "/accounts/2fa/authenticate/"
    assert client.get("/dashboard/").status_code == 302  # not signed in without the code
