"""R-LEG-2: a material Terms version is accepted at the next sign-in, before ordering."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import api_key_issue
from legal.gate import TERMS_API_ERROR
from legal.models import Acceptance
from legal.selectors import terms_acceptance_due
from legal.services import acceptance_record, document_publish
from orders.models import Order
from tests.factories import PASSWORD
from tests.orders.factories import funded_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def material_terms(terms):
    return document_publish(kind="terms", title="Terms of Service", body="New.", material=True)


def _order_form(service):
    return {"service": service.pk, "link": "https://www.instagram.com/someone/", "quantity": 100}


def test_sign_in_asks_for_the_new_terms_first(client, terms, material_terms):  # R-LEG-2
    customer = funded_customer(deposited="5")
    acceptance_record(user=customer, document=terms)
    response = client.post("/accounts/login/", {"login": customer.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url.startswith("/legal/accept/")
    page = client.get(response.url).content.decode()
    assert f"version {material_terms.version}" in page


def test_web_orders_wait_for_the_acceptance_then_go(
    client, routed_service, material_terms
):  # R-LEG-2
    customer = funded_customer(deposited="5")
    client.force_login(customer)
    response = client.post("/orders/new/", _order_form(routed_service))
    assert response.status_code == 302
    assert response.url == "/legal/accept/?next=%2Forders%2Fnew%2F"
    assert client.get("/orders/mass/").url.startswith("/legal/accept/")
    assert not Order.objects.exists()

    refused = client.post("/legal/accept/", {"next": "/orders/new/"})
    assert "Tick the box to accept the new Terms" in refused.content.decode()
    accepted = client.post(
        "/legal/accept/", {"accept": "on", "next": "/orders/new/"}, REMOTE_ADDR="81.2.69.160"
    )
    assert accepted.url == "/orders/new/"
    acceptance = Acceptance.objects.get(user=customer, document=material_terms)
    assert acceptance.ip_address == "81.2.69.160"
    assert acceptance.accepted_at is not None

    response = client.post("/orders/new/", _order_form(routed_service))
    assert response.status_code == 302
    assert Order.objects.filter(user=customer).count() == 1


def test_a_non_material_version_asks_nothing(client, routed_service, terms):  # R-LEG-2
    document_publish(kind="terms", title="Terms of Service", body="Typo fixed.", material=False)
    customer = funded_customer(deposited="5")
    client.force_login(customer)
    assert client.get("/orders/new/").status_code == 200


def test_api_add_refuses_with_the_documented_error(
    client, routed_service, material_terms
):  # R-LEG-2
    customer = funded_customer(deposited="5")
    _, key = api_key_issue(user=customer)
    fields = {"key": key, "action": "add", **_order_form(routed_service)}
    assert client.post("/api/v2", fields).json() == {"error": TERMS_API_ERROR}
    assert client.post("/api/v2", {"key": key, "action": "balance"}).json()["balance"]
    assert not Order.objects.exists()

    acceptance_record(user=customer, document=material_terms)
    assert "order" in client.post("/api/v2", fields).json()


def test_api_page_documents_the_error(client, customer):  # R-LEG-2
    client.force_login(customer)
    assert TERMS_API_ERROR in client.get("/account/api/").content.decode()


def test_customers_are_told_of_a_material_version(
    terms, django_capture_on_commit_callbacks, mailoutbox
):  # R-LEG-2
    customer = funded_customer()
    with django_capture_on_commit_callbacks(execute=True):
        document_publish(kind="terms", title="Terms of Service", body="Minor.", material=False)
    assert not customer.notices.exists()
    with django_capture_on_commit_callbacks(execute=True):
        new = document_publish(kind="terms", title="Terms of Service", body="Big.", material=True)
    notice = customer.notices.get()
    assert notice.url == f"/legal/terms/v{new.version}/"
    assert "next sign-in" in notice.body
    assert [m.to for m in mailoutbox] == [[customer.email]]

    from legal.services import terms_announce

    assert terms_announce(document_id=new.pk) == 0  # once per version


def test_a_future_material_version_is_asked_for_from_its_date_not_before(
    client, routed_service, terms, monkeypatch
):  # R-LEG-2: "when a material Terms version takes effect"
    customer = funded_customer(deposited="5")
    acceptance_record(user=customer, document=terms)
    starts = timezone.now() + timedelta(days=1)
    future = document_publish(
        kind="terms", title="Terms of Service", body="Later.", effective_at=starts, material=True
    )
    login = {"login": customer.username, "password": PASSWORD}

    assert terms_acceptance_due(user=customer) is None  # announced, not in force yet
    assert client.post("/accounts/login/", login).url == "/dashboard/"
    assert client.get("/orders/new/").status_code == 200
    client.logout()

    monkeypatch.setattr(timezone, "now", lambda: starts + timedelta(minutes=1))
    assert terms_acceptance_due(user=customer) == future
    response = client.post("/accounts/login/", login)
    assert response.url.startswith("/legal/accept/")
    assert f"version {future.version}" in client.get(response.url).content.decode()
    assert client.get("/orders/new/").url.startswith("/legal/accept/")
