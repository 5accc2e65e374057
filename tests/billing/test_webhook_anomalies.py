"""Issue 9, item 8: signed webhook events that can never succeed answer 2xx and leave a
logged, staff-visible anomaly; only what a retry can fix answers 5xx (R-PAY-2)."""

import json
import socket
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import Deposit, StripeEvent, WebhookAnomaly
from billing.selectors import balance_get
from billing.services import deposit_start
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.stripe_helpers import pay, signature, stripe_event
from tests.factories import UserFactory

D = Decimal
WEBHOOK = reverse("billing:stripe_webhook")
pytestmark = pytest.mark.django_db


def _post(client, event: dict):
    payload = json.dumps(event)
    return client.post(
        WEBHOOK,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature(payload, WEBHOOK_SECRET),
    )


@pytest.fixture
def paid(stripe_settings, localstripe):
    user = UserFactory()
    deposit = deposit_start(user=user, amount=D("15.00"))
    pay(deposit)
    event = json.loads(
        stripe_event(localstripe, deposit.stripe_payment_intent, "payment_intent.succeeded")
    )
    return deposit, event


def test_a_paid_intent_pointed_at_another_deposit_is_an_anomaly_not_a_500(
    client, paid, assert_ledger_ok
):  # R-PAY-2
    deposit, event = paid
    assert _post(client, event).status_code == 200
    other = deposit_start(user=deposit.user, amount=D("15.00"))
    forged = json.loads(json.dumps(event))
    forged["id"] = "evt_pointed_elsewhere"
    forged["data"]["object"]["metadata"]["deposit_id"] = str(other.pk)
    response = _post(client, forged)
    assert response.status_code == 200
    anomaly = WebhookAnomaly.objects.get(event_id="evt_pointed_elsewhere")
    assert anomaly.deposit_id == str(other.pk)
    assert f"pays deposit {deposit.pk}" in anomaly.reason
    other.refresh_from_db()
    assert other.status == Deposit.Status.AWAITING_PAYMENT
    assert balance_get(user=deposit.user).deposited == D("15.00")  # credited once
    assert_ledger_ok()


def test_an_unknown_intent_is_an_anomaly_so_stripe_stops_retrying(client, paid):
    deposit, event = paid
    event["id"] = "evt_unknown_intent"
    event["data"]["object"]["id"] = "pi_doesnotexist"
    response = _post(client, event)
    assert response.status_code == 200
    anomaly = WebhookAnomaly.objects.get(event_id="evt_unknown_intent")
    assert anomaly.payment_intent == "pi_doesnotexist"
    assert balance_get(user=deposit.user).total == 0
    assert not StripeEvent.objects.filter(event_id="evt_unknown_intent").exists()


def test_anomalies_are_shown_to_staff(client, paid):
    _deposit, event = paid
    event["id"] = "evt_for_staff"
    event["data"]["object"]["id"] = "pi_for_staff"
    _post(client, event)
    from allauth.mfa.models import Authenticator

    from tests.factories import StaffFactory

    staff = StaffFactory(is_superuser=True)
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    page = client.get("/admin/billing/webhookanomaly/").content.decode()
    assert "evt_for_staff" in page


def test_stripe_unreachable_is_still_a_503_to_be_retried(client, paid, settings):
    _deposit, event = paid
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{dead}"
    assert _post(client, event).status_code == 503
    assert not WebhookAnomaly.objects.exists()
