"""Issue 9, items 1 and 2: over-long and malformed input is refused whole, in the contract's
wording (API: HTTP 200 ``{"error": ...}``; pages: a form error), never cut, never a 500."""

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.selectors import balance_get
from orders.models import Order
from tests.billing.factories import fund
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import LINK

pytestmark = pytest.mark.django_db
INCORRECT = {"error": "Incorrect request"}


@pytest.fixture(autouse=True)
def _no_link_check(settings):
    settings.ORDERS_LINK_CHECK = False


@pytest.fixture
def service():
    return ServiceFactory(rate=Decimal("1.00"), min_quantity=10, max_quantity=100000)


@pytest.fixture
def funded(api_user):
    fund(api_user, deposited="100")
    return api_user


def _nothing_charged(user):
    assert not Order.objects.filter(user=user).exists()
    assert balance_get(user=user).total == Decimal("100")


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_an_over_long_link_is_refused_not_shortened(call, api_key, funded, service, transport):
    # R-ORD-3: the link does not fit the service's rule; it used to be cut to 2,000 and charged.
    link = LINK + "a" * 5000
    answer = call(transport, key=api_key, action="add", service=service.pk, link=link, quantity=100)
    assert answer == (200, {"error": "Incorrect link"})
    _nothing_charged(funded)


@pytest.mark.parametrize("transport", ["form", "json", "get"])
@pytest.mark.parametrize("field", ["link", "comments", "idempotency_key", "country", "key"])
def test_a_nul_byte_in_any_field_is_an_incorrect_request(
    call, api_key, funded, service, transport, field
):
    fields = {"key": api_key, "action": "add", "service": service.pk, "link": LINK}
    fields["quantity"] = 100
    fields[field] = fields.get(field, "x") + "\x00y"
    assert call(transport, **fields) == (200, INCORRECT)
    _nothing_charged(funded)


def test_a_nul_in_a_field_name_is_an_incorrect_request(call, api_key, funded, service):
    fields = {"key": api_key, "action": "balance", "bad\x00name": "1"}
    assert call("json", **fields) == (200, INCORRECT)


def _post_json(client, body: str):
    response = client.post("/api/v2", body, content_type="application/json")
    return response.status_code, response["Content-Type"], response.json()


def test_json_escapes_postgres_cannot_store_are_incorrect_requests(client, api_key, funded):
    for value in ("\\u0000", "\\ud800", "abc\\udfff"):
        body = f'{{"key": "{api_key}", "action": "add", "service": "1", "link": "{value}"}}'
        assert _post_json(client, body) == (200, "application/json", INCORRECT)
    _nothing_charged(funded)


def test_a_deeply_nested_json_body_is_an_incorrect_request(client, api_key):
    body = '{"key": "' + api_key + '", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert _post_json(client, body) == (200, "application/json", INCORRECT)
    assert _post_json(client, "[" * 100_000) == (200, "application/json", INCORRECT)


def test_a_huge_json_number_is_an_incorrect_request(client, api_key, funded, service):
    body = json.dumps({"key": api_key, "action": "add", "service": service.pk, "link": LINK})
    body = body[:-1] + ', "quantity": ' + "9" * 5000 + "}"
    assert _post_json(client, body) == (200, "application/json", INCORRECT)
    _nothing_charged(funded)


def test_too_many_fields_is_an_incorrect_request_on_every_transport(client, api_key):
    fields = {f"f{i}": "1" for i in range(1100)}
    fields.update(key=api_key, action="balance")
    for response in (
        client.post("/api/v2", fields),
        client.get("/api/v2", fields),
        client.post("/api/v2", fields, content_type="application/json"),
    ):
        assert response.status_code == 200
        assert response.json() == INCORRECT


def test_a_huge_service_or_quantity_is_refused_in_the_contracts_words(
    call, api_key, funded, service
):
    assert call(key=api_key, action="add", service="9" * 5000, link=LINK, quantity=100) == (
        200,
        {"error": "Incorrect service ID"},
    )
    assert call(key=api_key, action="add", service=service.pk, link=LINK, quantity="9" * 5000)[
        1
    ] == {"error": "Incorrect request"}
    assert call(key=api_key, action="status", order="9" * 5000) == (
        200,
        {"error": "Incorrect order ID"},
    )
    _nothing_charged(funded)


# --- a property-based run of the transport: any text in any field --------------------------
_any_char = st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF)
_nasty = st.text(alphabet=_any_char, max_size=40) | st.sampled_from(
    ["\x00", "\ud800", "9" * 5000, "a" * 3000, LINK + "\x00", "\uff11\uff12\uff13", "\u00b2"]
)
_field_names = st.sampled_from(
    ["link", "quantity", "comments", "idempotency_key", "runs", "interval", "service", "x\x00"]
) | st.text(alphabet=_any_char, min_size=1, max_size=10)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(
    fields=st.dictionaries(_field_names, _nasty, max_size=6),
    transport=st.sampled_from(["json", "form"]),
)
def test_any_field_content_gets_a_json_answer_never_a_500(
    client, api_key, funded, service, fields, transport
):
    body = {"key": api_key, "action": "add", "service": str(service.pk), **fields}
    if transport == "json":
        response = client.post("/api/v2", json.dumps(body), content_type="application/json")
    else:
        if any("\ud800" <= ch <= "\udfff" for text in body.items() for ch in "".join(text)):
            return  # not encodable as a form body
        response = client.post("/api/v2", body)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    answer = response.json()
    assert isinstance(answer, dict)
    for order in Order.objects.filter(user=funded):
        assert "\x00" not in order.link
        assert len(order.link) <= 2048
