import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction

from legal.models import Acceptance, Document
from legal.selectors import document_current
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("terms")]

FORM = {
    "email": "new@example.com",
    "username": "newcomer",
    "password1": "a-long-pass-phrase-7",
    "password2": "a-long-pass-phrase-7",
    "is_adult": "on",
    "accept_terms": "on",
}


def _signup(client, **changes):
    data = {**FORM, **changes}
    return client.post("/accounts/signup/", {k: v for k, v in data.items() if v is not None})


def test_signup_stores_adult_confirmation_and_terms_version_with_time_and_ip(client):
    # R-ACC-1, R-LEG-2: the acceptance is stored with its time and IP
    response = client.post("/accounts/signup/", FORM, REMOTE_ADDR="81.2.69.160")
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newcomer")
    assert user.adult_confirmed_at is not None
    acceptance = Acceptance.objects.get(user=user)
    assert acceptance.document == document_current(kind=Document.Kind.TERMS)
    assert acceptance.accepted_at is not None
    assert acceptance.ip_address == "81.2.69.160"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("is_adult", "You must be 18 or older to use the panel."),
        ("accept_terms", "You must accept the Terms of Service to sign up."),
    ],
)
def test_signup_requires_18_plus_and_terms(client, missing, message):  # R-ACC-1
    response = _signup(client, **{missing: None})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()


def test_signup_sends_verification_email_and_unverified_can_sign_in(client):  # R-ACC-3
    _signup(client)
    assert len(mail.outbox) == 1
    assert "/accounts/confirm-email/" in mail.outbox[0].body
    client.logout()
    response = client.post("/accounts/login/", {"login": "newcomer", "password": FORM["password1"]})
    assert response.status_code == 302
    assert response.url == "/dashboard/"


def test_password_is_stored_hashed_and_reset_by_email(client):  # R-ACC-2
    _signup(client)
    user = get_user_model().objects.get(username="newcomer")
    assert FORM["password1"] not in user.password
    assert user.check_password(FORM["password1"])
    mail.outbox.clear()
    client.logout()
    response = client.post("/accounts/password/reset/", {"email": "new@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert FORM["password1"] not in mail.outbox[0].body


def test_sign_in_by_email_or_username(client, customer):
    from tests.factories import PASSWORD

    for login in (customer.username, customer.email):
        client.logout()
        response = client.post("/accounts/login/", {"login": login, "password": PASSWORD})
        assert response.status_code == 302, login


def test_repeated_failed_sign_ins_are_rate_limited(client, customer):  # R-AUP-4
    from tests.factories import PASSWORD

    bodies = [
        client.post(
            "/accounts/login/", {"login": customer.username, "password": "wrong-password"}
        ).content.decode()
        for _ in range(6)
    ]
    assert "Too many failed login attempts" not in bodies[0]
    assert "Too many failed login attempts. Try again later." in bodies[-1]
    # Once limited, even the right password is refused for a while.
    response = client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_sign_in_page_is_rate_limited_per_ip(client):  # R-AUP-4
    statuses = {
        client.post("/accounts/login/", {"login": f"nobody{i}", "password": "x"}).status_code
        for i in range(40)
    }
    assert 429 in statuses


# --- issue 9, item 6: plain-ASCII look-alike usernames ---


@pytest.mark.parametrize(
    ("taken", "look_alike"),
    [
        ("paypal", "paypaI"),  # capital I for l
        ("paypal", "PAYPA1"),  # digit 1 for l, any case
        ("demo", "dem0"),  # digit 0 for o
        ("dem0", "demo"),  # either way round
        ("mary", "rnary"),  # rn for m
        ("wallet", "vvallet"),  # vv for w
    ],
)
def test_a_username_that_reads_like_a_taken_one_is_refused(client, taken, look_alike):
    UserFactory(username=taken, email="taken@example.com")
    response = _signup(client, username=look_alike)
    assert response.status_code == 200
    assert "That username is too close to one already taken." in response.content.decode()
    assert not get_user_model().objects.filter(email=FORM["email"]).exists()  # R-ACC-1


@pytest.mark.parametrize("username", ["demos", "demi", "deno", "demo2", "admin1"])
def test_a_merely_similar_username_still_registers(client, username):
    for name in ("admin", "demo", "support"):  # the demo data
        UserFactory(username=name, email=f"{name}@example.com")
    response = _signup(client, username=username)
    assert response.status_code == 302
    assert get_user_model().objects.filter(username=username).exists()  # R-ACC-1


def test_the_database_refuses_a_look_alike_username():
    UserFactory(username="paypal", email="paypal@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        get_user_model().objects.create(username="paypaI", email="x@example.com")  # R-ACC-1


def test_the_demo_data_keeps_working(settings):
    settings.SIMULATOR_API_KEY = "demo-key"
    call_command("demo_data", stdout=io.StringIO())
    users = get_user_model().objects.filter(username__in=["admin", "demo", "support"])
    assert users.count() == 3
    call_command("demo_data", stdout=io.StringIO())  # again, as make run does
    assert get_user_model().objects.filter(username__in=["admin", "demo", "support"]).count() == 3
