"""R-ACC-4 (linked accounts by sign-up IP, card, device) and R-PRV-1 (sign-ins, retention)."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import AccountSignal, SignIn
from accounts.selectors import accounts_linked, accounts_linked_over_limit
from accounts.services import account_signal_record, sign_in_record
from accounts.tasks import sign_ins_purge_task
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("terms")]

SIGNUP = {"password1": "a-long-pass-phrase-7", "password2": "a-long-pass-phrase-7",
          "is_adult": "on", "accept_terms": "on"}  # fmt: skip


def _signup(client, name, ip):
    data = {**SIGNUP, "email": f"{name}@example.com", "username": name}
    assert client.post("/accounts/signup/", data, REMOTE_ADDR=ip).status_code == 302
    client.cookies.pop("sessionid", None)  # signed out; the browser keeps its device cookie
    return get_user_model().objects.get(username=name)


def test_linked_by_sign_up_ip(client):  # R-ACC-4
    a = _signup(client, "alpha", "81.2.69.160")
    client.cookies.clear()  # another browser: only the IP is shared
    b = _signup(client, "bravo", "81.2.69.160")
    client.cookies.clear()
    c = _signup(client, "charlie", "8.8.8.8")
    assert accounts_linked(user=a) == {b.pk}
    assert accounts_linked(user=c) == set()


def test_linked_by_device_cookie(client):  # R-ACC-4
    client.get("/")  # the browser gets its device cookie
    a = _signup(client, "alpha", "81.2.69.160")
    b = _signup(client, "bravo", "8.8.8.8")  # same browser, another IP
    assert accounts_linked(user=b) == {a.pk}
    assert AccountSignal.objects.filter(kind="device").values("value").distinct().count() == 1


def test_linked_by_card_fingerprint_and_transitively():  # R-ACC-4
    a, b, c, d = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    account_signal_record(user=a, kind=AccountSignal.Kind.CARD, value="fp_card_1")
    account_signal_record(user=b, kind=AccountSignal.Kind.CARD, value="fp_card_1")
    account_signal_record(user=b, kind=AccountSignal.Kind.DEVICE, value="d" * 32)
    account_signal_record(user=c, kind=AccountSignal.Kind.DEVICE, value="d" * 32)
    assert accounts_linked(user=a) == {b.pk, c.pk}
    assert accounts_linked(user=d) == set()


def test_the_limit_of_linked_accounts_is_a_setting(settings):  # R-ACC-4
    settings.ACCOUNTS_LINKED_LIMIT = 2
    users = [UserFactory() for _ in range(4)]
    for user in users[:3]:
        account_signal_record(user=user, kind=AccountSignal.Kind.SIGNUP_IP, value="81.2.69.160")
    assert not accounts_linked_over_limit(user=users[0])
    account_signal_record(user=users[3], kind=AccountSignal.Kind.SIGNUP_IP, value="81.2.69.160")
    assert accounts_linked_over_limit(user=users[0])


def test_staff_see_the_group(client, settings):  # R-ACC-4
    from allauth.mfa.models import Authenticator

    from tests.factories import StaffFactory

    a, b = UserFactory(), UserFactory()
    for user in (a, b):
        account_signal_record(user=user, kind=AccountSignal.Kind.CARD, value="fp_x")
    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    page = client.get(f"/admin/accounts/user/{a.pk}/change/").content.decode()
    assert f"/admin/accounts/user/{b.pk}/change/" in page


def test_sign_in_records_ip_and_country(client, customer):  # R-PRV-1
    response = client.post(
        "/accounts/login/", {"login": customer.username, "password": PASSWORD},
        REMOTE_ADDR="81.2.69.160",
    )  # fmt: skip
    assert response.status_code == 302
    sign_in = SignIn.objects.get(user=customer)
    assert (sign_in.ip_address, sign_in.country) == ("81.2.69.160", "GB")


def test_old_sign_ins_are_deleted_after_the_retention(customer, settings):  # R-PRV-1
    settings.PRIVACY_SIGNIN_RETENTION_DAYS = 30
    old = sign_in_record(user=customer, ip_address="81.2.69.160")
    SignIn.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=31))
    recent = sign_in_record(user=customer, ip_address="8.8.8.8")
    assert sign_ins_purge_task.delay().get() == 1
    assert list(SignIn.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "accounts-sign-ins-purge" in settings.CELERY_BEAT_SCHEDULE


def test_past_the_limit_a_new_account_waits_for_staff(client, settings):  # R-ACC-4
    from legal.selectors import account_held

    settings.ACCOUNTS_LINKED_LIMIT = 2
    users = []
    for name in ("one", "two", "three", "four"):
        client.cookies.clear()  # new browsers; one shared sign-up IP
        users.append(_signup(client, name, "81.2.69.160"))
    assert [account_held(user=user) for user in users] == [False, False, False, True]
    assert users[3].notices.get().subject == "Your account needs approval"


def test_private_addresses_link_nothing(client):  # R-ACC-4: a proxy's address is not a person
    a = _signup(client, "alpha", "10.0.0.7")
    client.cookies.clear()
    b = _signup(client, "bravo", "10.0.0.7")
    assert accounts_linked(user=a) == set()
    assert accounts_linked(user=b) == set()
