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


def test_make_runs_demo_staff_sign_in_with_the_demo_code(client, settings):  # R-ACC-7
    # `make run` (DEBUG, DEMO_TOTP_CODE) sets TOTP up for the demo staff and the demo code
    # passes it, so the admin and the desk can be tried at once; without DEBUG nothing changes.
    import io

    from django.core.management import call_command

    settings.DEBUG = True
    settings.DEMO_TOTP_CODE = settings.MFA_TOTP_INSECURE_BYPASS_CODE = "000000"
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    assert "admin / demo-admin-pass (TOTP code 000000, make run only; /admin/)" in out.getvalue()
    assert Authenticator.objects.filter(user__username="support", type="totp").exists()
    response = client.post("/accounts/login/", {"login": "admin", "password": "demo-admin-pass"})
    assert response.url.startswith("/accounts/2fa/authenticate/")
    assert client.post(response.url, {"code": "123456"}).status_code == 200  # refused
    assert client.post(response.url, {"code": "000000"}).status_code == 302
    assert client.get("/admin/").status_code == 200
