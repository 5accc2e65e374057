"""Property-based run of /api/v2 against its OpenAPI description, over real HTTP.

At least 1,000 generated requests (form, JSON and query transports; every action) to a
live server: no 5xx and no answer outside the contract (API_V2.md, R-KEY-4).
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from orders.api.openapi import openapi_document
from tests.billing.factories import fund
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import place

schema = schemathesis.openapi.from_dict(openapi_document(server_url="http://127.0.0.1"))
EXAMPLES_PER_OPERATION = 550  # two operations (POST, GET): over 1,000 requests


@pytest.fixture(scope="module")
def requests_sent():
    """Counts the requests each operation sent; at the end, proves the run was big enough."""
    sent: Counter = Counter()
    yield sent
    for operation, count in sent.items():
        assert count >= 500, f"{operation}: only {count} requests"


@pytest.fixture
def api_context(live_server, api_user, api_key, settings):
    settings.API_RATE_LIMIT_PER_ACCOUNT = "1000000/m"
    settings.API_RATE_LIMIT_PER_IP = "1000000/m"
    settings.ORDERS_LINK_CHECK = False
    fund(api_user, deposited="1000")
    service = ServiceFactory(cancel=True)
    place(api_user, service, quantity=1000)
    life = _order_life(api_user)
    return {"url": live_server.url, "key": api_key, **life}


def _order_life(user) -> dict:
    """A drip-feed, a subscription and a refill of the account (issue 10), so the generated
    calls and the explicit ones below meet their fields."""
    from catalog.models import Service
    from orders.services import order_staff_progress
    from orders.services.refills import refill_request
    from tests.factories import StaffFactory

    drip = ServiceFactory(dripfeed=True)
    parent = place(user, drip, quantity=100, extra={"runs": 3, "interval": 0},
                   link="https://www.instagram.com/drip/")  # fmt: skip
    subs = ServiceFactory(type=Service.Type.SUBSCRIPTIONS, link_rule="username")
    subscription = place(user, subs, quantity=None, link="", extra={
        "username": "brand", "min": "100", "max": "200", "expiry": "01/01/2099"})  # fmt: skip
    refills = ServiceFactory(refill=True, refill_days=30)
    done = place(user, refills, quantity=1000, link="https://www.instagram.com/refill/")
    order_staff_progress(order_id=done.pk, status="completed", actor=StaffFactory(),
                         start_count=10)  # fmt: skip
    refill = refill_request(user=user, order=done)
    return {"drip": parent.pk, "subscription": subscription.pk, "refill": refill.pk,
            "done": done.pk}  # fmt: skip


def _with_our_key(case, key: str) -> None:
    """Most generated calls carry the account's real key, so actions are reached."""
    container = case.query if case.method == "GET" else case.body
    if isinstance(container, dict) and container.get("key") != "":
        container["key"] = key


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_v2_answers_within_the_contract(case, api_context, requests_sent):
    _with_our_key(case, api_context["key"])
    if case.method in ("GET", "POST"):  # not the probes of undeclared methods
        requests_sent[case.method] += 1
    # API v2 answers every request, malformed or not, with HTTP 200 and {"error": ...}
    # (client libraries treat a non-2xx as a network failure): the rules that negative data
    # and undeclared methods (PUT, TRACE...) must get a 4xx do not apply to this contract;
    # every other check does.
    case.call_and_validate(
        base_url=api_context["url"],
        excluded_checks=[
            schemathesis.checks.negative_data_rejection,
            schemathesis.checks.unsupported_method,
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_order_life_answers_within_the_contract(api_context):
    # R-ORD-10, R-ORD-11, R-ORD-13: status of a drip-feed and a subscription, refill and
    # refill_status single and multi, each validated against the description (no 5xx).
    ids = api_context
    calls = [
        {"action": "status", "order": ids["drip"]},
        {"action": "status", "orders": f"{ids['drip']},{ids['subscription']},999999"},
        {"action": "status", "order": ids["subscription"]},
        {"action": "refill", "order": ids["done"]},
        {"action": "refill", "orders": f"{ids['done']},{ids['drip']},999999"},
        {"action": "refill_status", "refill": ids["refill"]},
        {"action": "refill_status", "refills": f"{ids['refill']},999999"},
        {"action": "cancel", "orders": str(ids["drip"])},
    ]
    operation = schema["/api/v2"]["POST"]
    answers = []
    for fields in calls:
        case = operation.Case(
            body={"key": ids["key"], **fields}, media_type="application/x-www-form-urlencoded"
        )
        response = case.call_and_validate(
            base_url=ids["url"], excluded_checks=[schemathesis.checks.negative_data_rejection]
        )
        assert response.status_code == 200
        answers.append(response.json())
    assert answers[0]["runs"] == "3"
    assert len(answers[0]["orders"]) == 3
    assert answers[2]["expiry"] == "01/01/2099"
    assert answers[5] == {"status": "Pending"}
