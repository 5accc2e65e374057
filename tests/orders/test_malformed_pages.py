"""Issue 9, item 2 on the pages: malformed input gets a form error, never a 500 or a bare 400,
and nothing is charged (R-ORD-3)."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from accounts.models import ApiKey
from billing.selectors import balance_get
from orders.models import Order
from support.models import Ticket
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import LINK, funded_customer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    settings.ORDERS_LINK_CHECK = False


@pytest.fixture
def service():
    return ServiceFactory(rate=Decimal("1.00"), min_quantity=10, max_quantity=100000)


@pytest.fixture
def user():
    return funded_customer(deposited="10")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def _nothing_charged(user):
    assert not Order.objects.filter(user=user).exists()
    assert balance_get(user=user).total == Decimal("10")


def test_a_tampered_idempotency_key_shows_an_error(signed_in, user, service):
    response = signed_in.post(
        "/orders/new/",
        {"service": service.pk, "link": LINK, "quantity": 100, "idempotency_key": "k" * 65},
    )
    assert response.status_code == 200
    assert "could not be read as it was sent" in response.content.decode()
    _nothing_charged(user)


def test_a_nul_byte_in_new_order_is_a_form_error(signed_in, user, service):
    for field in ("link", "comments", "idempotency_key"):
        data = {"service": service.pk, "link": LINK, "quantity": 100, field: "a\x00b"}
        response = signed_in.post("/orders/new/", data)
        assert response.status_code == 200
        assert 'id="form-errors"' in response.content.decode() or "Null characters" in (
            response.content.decode()
        )
    _nothing_charged(user)


def test_more_than_a_thousand_fields_is_a_form_error_not_a_400(user, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/orders/new/")
    token = page.cookies["csrftoken"].value
    fields = {f"f{i}": "1" for i in range(1100)}
    fields.update(csrfmiddlewaretoken=token, service=service.pk, link=LINK, quantity=100)
    body = urlencode(fields)  # what a browser sends for these forms
    for url in ("/orders/new/", "/orders/mass/"):
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 200, url
        assert "more fields than any page of ours has" in response.content.decode()
    _nothing_charged(user)


def _many_multipart_fields(client, extra):
    """What ``curl -F`` or a browser's multipart form sends: the CSRF token first."""
    token = client.get("/orders/new/").cookies["csrftoken"].value
    fields = {"csrfmiddlewaretoken": token, **extra}
    fields.update({f"f{i}": "1" for i in range(1100)})
    return fields


def test_more_than_a_thousand_multipart_fields_is_a_form_error_not_a_400(user, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    order = {"service": service.pk, "link": LINK, "quantity": 100}
    order["orders"] = f"{service.pk} | {LINK} | 100"
    fields = _many_multipart_fields(client, order)
    for url in ("/orders/new/", "/orders/mass/"):
        response = client.post(url, fields)  # the test client sends multipart/form-data
        assert response.status_code == 200, url
        assert "more fields than any page of ours has" in response.content.decode()
    _nothing_charged(user)  # R-ORD-3


def test_more_than_a_thousand_multipart_fields_on_a_new_ticket_is_a_form_error(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    ticket = {"kind": Ticket.Kind.OTHER, "subject": "Hello", "body": "Text"}
    response = client.post("/tickets/new/", _many_multipart_fields(client, ticket))
    assert response.status_code == 200
    assert "more fields than any page of ours has" in response.content.decode()
    assert not Ticket.objects.filter(user=user).exists()  # R-ORD-3


@pytest.mark.parametrize("multipart", [True, False])
def test_too_many_fields_to_any_other_form_runs_nothing(user, multipart):
    """A page that cannot show the form error (the API key button) gets a clear page and
    does nothing: the empty form that is left would otherwise issue a new key."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    fields = _many_multipart_fields(client, {})
    if multipart:
        response = client.post("/account/api/", fields)
    else:
        form = "application/x-www-form-urlencoded"
        response = client.post("/account/api/", urlencode(fields), content_type=form)
    assert response.status_code == 400
    assert "more fields than any page of ours has" in response.content.decode()
    assert not ApiKey.objects.filter(user=user).exists()  # R-ORD-3


def test_a_multipart_form_without_a_csrf_token_is_still_refused_by_csrf(user, service):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    fields = {f"f{i}": "1" for i in range(1100)}
    assert client.post("/orders/new/", fields).status_code == 403
    _nothing_charged(user)  # R-ORD-3


def test_a_mass_line_with_a_huge_or_odd_service_id_is_refused_alone(signed_in, user, service):
    text = f"{'9' * 5000} | {LINK} | 100\n²³ | {LINK}x | 100\n{service.pk} | {LINK}y | 100"
    response = signed_in.post("/orders/mass/", {"orders": text})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No service has this ID." in html
    assert "The service ID must be a number." in html
    assert Order.objects.filter(user=user).count() == 1  # the good line only


def test_a_nul_byte_in_mass_order_is_a_form_error(signed_in, user, service):
    response = signed_in.post("/orders/mass/", {"orders": f"{service.pk} | {LINK}\x00 | 100"})
    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    _nothing_charged(user)


@pytest.mark.parametrize("query", ["before=²", "after=" + "9" * 5000, "before=1%00"])
def test_odd_cursors_on_the_orders_page_are_ignored(signed_in, query):
    assert signed_in.get(f"/orders/?{query}").status_code == 200


def test_an_odd_service_in_the_new_order_query_is_ignored(signed_in):
    assert signed_in.get("/orders/new/?service=²").status_code == 200
    assert signed_in.get("/orders/new/?service=" + "9" * 5000).status_code == 200
