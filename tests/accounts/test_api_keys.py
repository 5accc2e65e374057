import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import ApiKey
from accounts.selectors import api_key_user
from accounts.services import api_key_issue

pytestmark = pytest.mark.django_db


def test_key_is_shown_once_and_never_stored_readably(client, customer):  # R-KEY-1, R-KEY-2
    client.force_login(customer)
    response = client.post("/account/api/")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    plaintext = response.context["new_key"]
    assert len(plaintext) == 32
    assert plaintext in response.content.decode()

    with connection.cursor() as cursor:
        cursor.execute("SELECT prefix, digest FROM accounts_apikey")
        rows = cursor.fetchall()
    assert len(rows) == 1
    prefix, digest = rows[0]
    assert plaintext not in digest
    assert plaintext[:6] == prefix
    assert len(prefix) < len(plaintext) // 4

    again = client.get("/account/api/").content.decode()
    assert plaintext not in again
    assert f"{prefix}…" in again
    assert api_key_user(key=plaintext) == customer


def test_regenerating_revokes_the_old_key_at_once(customer):  # R-KEY-2
    _, old = api_key_issue(user=customer)
    _, new = api_key_issue(user=customer)
    assert api_key_user(key=old) is None
    assert api_key_user(key=new) == customer
    assert ApiKey.objects.filter(user=customer, revoked_at__isnull=True).count() == 1


@pytest.mark.parametrize("status", ["suspended", "closed"])
def test_key_of_suspended_or_closed_account_is_refused(customer, status):  # R-KEY-3, R-ACC-5
    _, key = api_key_issue(user=customer)
    customer.status = status
    customer.save()
    assert api_key_user(key=key) is None


def test_unknown_and_empty_keys_are_refused(customer):
    api_key_issue(user=customer)
    assert api_key_user(key="") is None
    assert api_key_user(key="0" * 32) is None
    assert api_key_user(key="x" * 10_000) is None


def test_issue_api_key_command_prints_a_working_key(customer, capsys):
    call_command("issue_api_key", customer.username)
    key = capsys.readouterr().out.strip()
    assert api_key_user(key=key) == customer


def test_api_page_needs_sign_in(client):
    response = client.get("/account/api/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_api_page_shows_the_accounts_rates_and_the_limits(client, customer, settings):
    # R-CAT-6, R-KEY-4
    from decimal import Decimal

    from catalog.services import custom_rate_set
    from tests.catalog.factories import ServiceFactory

    service = ServiceFactory(name="Followers Deluxe")
    custom_rate_set(user=customer, service=service, rate=Decimal("0.75"))
    custom_rate_set(user=customer, discount_percent=Decimal("10"))
    settings.API_RATE_LIMIT_PER_ACCOUNT = "123/m"
    client.force_login(customer)
    page = client.get("/account/api/").content.decode()
    assert "Followers Deluxe" in page
    assert "$0.75 per 1,000" in page
    assert "10 % off" in page
    assert "123/m" in page
