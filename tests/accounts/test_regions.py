"""R-AUP-3 (restricted regions, by IP) and R-AUP-4 (the sign-up rate limit)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from accounts.geo import client_ip, ip_country
from accounts.services import api_key_issue
from legal.gate import REGION_API_ERROR
from orders.models import Order
from tests.orders.factories import funded_customer

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("terms")]

RUSSIA = "5.255.255.5"  # in the packaged database as RU
BRITAIN = "81.2.69.160"  # GB
SIGNUP = {
    "email": "new@example.com", "username": "newcomer", "password1": "a-long-pass-phrase-7",
    "password2": "a-long-pass-phrase-7", "is_adult": "on", "accept_terms": "on",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _restricted(settings):
    settings.RESTRICTED_COUNTRIES = ["RU"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


def test_country_comes_from_the_packaged_database():  # R-AUP-3
    assert ip_country(RUSSIA) == "RU"
    assert ip_country(BRITAIN) == "GB"
    assert ip_country("127.0.0.1") == ""
    assert ip_country("not an ip") == ""


def test_forwarded_for_is_trusted_only_from_configured_proxies():  # R-AUP-3
    rf = RequestFactory()
    spoofed = rf.get("/", REMOTE_ADDR=BRITAIN, HTTP_X_FORWARDED_FOR=RUSSIA)
    assert client_ip(spoofed) == BRITAIN
    proxied = rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR=f"{RUSSIA}, 10.9.9.9")
    assert client_ip(proxied) == RUSSIA
    forged = rf.get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR=f"{BRITAIN}, {RUSSIA}")
    assert client_ip(forged) == RUSSIA  # the right-most untrusted hop, not what the client wrote


def test_signup_from_a_restricted_region_is_refused(client):  # R-AUP-3
    response = client.post("/accounts/signup/", SIGNUP, REMOTE_ADDR=RUSSIA)
    assert response.status_code == 403
    assert "Sign-ups from your region (RU) are not accepted" in response.content.decode()
    assert not get_user_model().objects.filter(username="newcomer").exists()
    # through a trusted proxy too
    response = client.post(
        "/accounts/signup/", SIGNUP, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=RUSSIA
    )
    assert response.status_code == 403
    assert client.post("/accounts/signup/", SIGNUP, REMOTE_ADDR=BRITAIN).status_code == 302


def test_web_orders_from_a_restricted_region_are_refused(client, routed_service):  # R-AUP-3
    customer = funded_customer(deposited="5")
    client.force_login(customer)
    form = {"service": routed_service.pk, "link": "https://www.instagram.com/a/", "quantity": 100}
    response = client.post("/orders/new/", form, REMOTE_ADDR=RUSSIA)
    assert response.status_code == 403
    assert "Orders from your region (RU) are not accepted" in response.content.decode()
    assert client.post("/orders/mass/", {"orders": "x"}, REMOTE_ADDR=RUSSIA).status_code == 403
    assert not Order.objects.exists()
    assert client.post("/orders/new/", form, REMOTE_ADDR=BRITAIN).status_code == 302


def test_api_orders_from_a_restricted_region_are_refused(client, routed_service):  # R-AUP-3
    customer = funded_customer(deposited="5")
    _, key = api_key_issue(user=customer)
    fields = {"key": key, "action": "add", "service": routed_service.pk,
              "link": "https://www.instagram.com/a/", "quantity": 100}  # fmt: skip
    assert client.post("/api/v2", fields, REMOTE_ADDR=RUSSIA).json() == {"error": REGION_API_ERROR}
    assert not Order.objects.exists()
    assert "order" in client.post("/api/v2", fields, REMOTE_ADDR=BRITAIN).json()


def test_signup_is_rate_limited_per_ip(client, settings):  # R-AUP-4
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "3/m/ip"}
    codes = []
    for n in range(4):
        data = {**SIGNUP, "email": f"n{n}@example.com", "username": f"new{n}"}
        codes.append(client.post("/accounts/signup/", data, REMOTE_ADDR=BRITAIN).status_code)
        client.logout()
    assert codes == [302, 302, 302, 429]
    assert get_user_model().objects.filter(username__startswith="new").count() == 3
    other = {**SIGNUP, "email": "other@example.com", "username": "other"}
    assert client.post("/accounts/signup/", other, REMOTE_ADDR="8.8.8.8").status_code == 302
