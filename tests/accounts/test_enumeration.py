"""Issue 9, items 5 and 6: no account enumeration (sign-up, sign-in and reset answer alike),
and usernames normalised (NFKC, ASCII, unique without case) so look-alikes cannot register."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import IntegrityError, transaction

from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("terms")]
User = get_user_model()
FORM = {
    "password1": "a-long-pass-phrase-7",
    "password2": "a-long-pass-phrase-7",
    "is_adult": "on",
    "accept_terms": "on",
}


def _signup(client, *, email, username):
    return client.post("/accounts/signup/", {**FORM, "email": email, "username": username})


def _visible(response, client) -> tuple:
    """What an outsider can observe: status, where it leads, and the page it lands on (with
    the address it names masked)."""
    page = client.get(response.url) if response.status_code == 302 else response
    text = page.content.decode()
    for address in ("taken@example.com", "fresh@example.com"):
        text = text.replace(address, "ADDRESS")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return response.status_code, response.get("Location"), page.status_code, text


def test_signup_with_a_taken_email_answers_like_a_new_one(client):  # R-AUP-4, issue 9
    UserFactory(email="taken@example.com", username="owner")
    mail.outbox.clear()
    taken = _signup(client, email="taken@example.com", username="someone")
    taken_seen = _visible(taken, client)
    assert "already registered" not in taken.content.decode()
    client.cookies.clear()
    fresh = _signup(client, email="fresh@example.com", username="someone2")
    assert taken_seen == _visible(fresh, client)
    assert taken.status_code == 302
    assert not User.objects.filter(username="someone").exists()
    assert User.objects.filter(username="someone2").exists()
    # One mail each: the owner of the taken address is told, the new one gets a link.
    assert [m.to for m in mail.outbox] == [["taken@example.com"], ["fresh@example.com"]]
    assert "/accounts/confirm-email/" in mail.outbox[1].body
    assert "/accounts/confirm-email/" not in mail.outbox[0].body


def test_a_new_account_signs_in_right_after_sign_up(client):  # R-ACC-3
    _signup(client, email="new@example.com", username="newcomer")
    response = client.post("/accounts/login/", {"login": "newcomer", "password": FORM["password1"]})
    assert (response.status_code, response.url) == (302, "/dashboard/")


def test_password_reset_answers_alike_for_known_and_unknown_addresses(client):
    UserFactory(email="known@example.com")
    known = client.post("/accounts/password/reset/", {"email": "known@example.com"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert (known.status_code, known.url) == (unknown.status_code, unknown.url)


def test_sign_in_fails_alike_for_unknown_users_and_wrong_passwords(client):
    UserFactory(username="realuser", email="real@example.com")
    wrong = client.post("/accounts/login/", {"login": "realuser", "password": "nope-nope-1"})
    unknown = client.post("/accounts/login/", {"login": "ghostuser", "password": "nope-nope-1"})
    assert wrong.status_code == unknown.status_code == 200
    assert "not correct" in wrong.content.decode()
    assert "not correct" in unknown.content.decode()


@pytest.mark.parametrize(
    "lookalike",
    ["\uff44\uff45\uff4d\uff4f", "Demo", "DEMO", " demo"],  # full-width, case, padding
)
def test_lookalike_usernames_are_refused(client, lookalike):
    UserFactory(username="demo", email="demo@example.com")
    response = _signup(client, email="other@example.com", username=lookalike)
    assert response.status_code == 200
    assert "already" in response.content.decode()  # "A user with that username already exists."
    assert User.objects.filter(username__iexact="demo").count() == 1


def test_other_scripts_are_refused_with_a_clear_message(client):
    UserFactory(username="demo", email="demo@example.com")
    response = _signup(client, email="other@example.com", username="d\u0435mo")  # Cyrillic e
    assert "Use only English letters, digits" in response.content.decode()
    assert User.objects.count() == 1


def test_a_full_width_username_is_stored_normalised(client):
    _signup(client, email="fw@example.com", username="\uff46\uff55\uff4c\uff4c")
    assert User.objects.filter(username="full").exists()


def test_the_database_refuses_a_case_duplicate():
    UserFactory(username="demo", email="demo@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="DEMO", email="x@example.com")
