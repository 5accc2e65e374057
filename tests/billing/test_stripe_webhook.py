"""The balance moves only on Stripe's signed webhook, exactly once (R-PAY-2), against a real
localstripe server and the panel's live HTTP server."""

import json
import logging
import threading
import time
from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from billing.models import Deposit, PromoRedemption, StripeEvent, Transaction
from billing.selectors import balance_get
from billing.services import deposit_start
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.factories import PromoCodeFactory
from tests.billing.stripe_helpers import pay, signature, stripe_event
from tests.factories import UserFactory

D = Decimal
WEBHOOK = reverse("billing:stripe_webhook")


@pytest.mark.django_db(transaction=True)
def test_same_event_sent_twenty_times_concurrently_credits_once(
    stripe_settings, localstripe, live_server, assert_ledger_ok, caplog
):
    # R-PAY-2: however often and however concurrently the event arrives.
    user = UserFactory()
    PromoCodeFactory(code="BONUS10", value=D("10"))
    deposit = deposit_start(user=user, amount=D("20.00"), promo_code="BONUS10")
    assert pay(deposit).status == "processing"
    assert balance_get(user=user).total == 0  # charged, not credited: only the webhook credits

    payload = stripe_event(localstripe, deposit.stripe_payment_intent, "payment_intent.succeeded")
    headers = {"Stripe-Signature": signature(payload, WEBHOOK_SECRET)}
    caplog.set_level(logging.INFO, logger="billing.views")
    start = threading.Barrier(20)
    statuses: list[int] = []

    def deliver():
        start.wait(timeout=30)
        response = requests.post(
            live_server.url + WEBHOOK, data=payload.encode(), headers=headers, timeout=60
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)

    assert statuses == [200] * 20
    outcomes = sorted(
        r.getMessage().rsplit(": ", 1)[1] for r in caplog.records if r.name == "billing.views"
    )
    assert outcomes == sorted(["duplicate event"] * 19 + [f"deposit {deposit.pk} credited"])
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.CREDITED
    balance = balance_get(user=user)
    assert (balance.deposited, balance.promotional) == (D("20.00"), D("2.00"))  # R-PRO-1
    assert Transaction.objects.filter(user=user, reason="deposit").count() == 1
    assert PromoRedemption.objects.filter(deposit=deposit).count() == 1
    assert StripeEvent.objects.filter(event_id=json.loads(payload)["id"]).count() == 1
    assert deposit.fee == D("0")  # R-PAY-3: localstripe's balance transactions carry no fee

    # Another event about the same payment (Stripe may send one) does not credit again.
    other = json.dumps({**json.loads(payload), "id": "evt_other_delivery"})
    response = requests.post(
        live_server.url + WEBHOOK,
        data=other.encode(),
        headers={"Stripe-Signature": signature(other, WEBHOOK_SECRET)},
        timeout=30,
    )
    assert response.status_code == 200
    assert balance_get(user=user).deposited == D("20.00")
    assert_ledger_ok()


@pytest.fixture
def paid_deposit(db, stripe_settings, localstripe):
    deposit = deposit_start(user=UserFactory(), amount=D("15.00"))
    pay(deposit)
    payload = stripe_event(localstripe, deposit.stripe_payment_intent, "payment_intent.succeeded")
    return deposit, payload


def _post(client, payload: str, header: str | None):
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header is not None else {}
    return client.post(WEBHOOK, data=payload, content_type="application/json", **extra)


def _nothing_credited(deposit):
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.PROCESSING
    assert balance_get(user=deposit.user).total == 0
    assert not StripeEvent.objects.exists()


def test_bad_signature_is_refused_and_credits_nothing(client, paid_deposit):
    deposit, payload = paid_deposit
    assert _post(client, payload, signature(payload, "whsec_not_ours")).status_code == 400
    _nothing_credited(deposit)


def test_signature_of_another_body_is_refused(client, paid_deposit):
    # Verified on the raw body: a re-serialised or altered payload fails.
    deposit, payload = paid_deposit
    altered = payload.replace('"amount": 1500', '"amount": 150000')
    assert altered != payload
    assert _post(client, altered, signature(payload, WEBHOOK_SECRET)).status_code == 400
    _nothing_credited(deposit)


def test_old_timestamp_is_refused_and_credits_nothing(client, paid_deposit):
    # Stripe's standard tolerance: five minutes.
    deposit, payload = paid_deposit
    stale = signature(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    assert _post(client, payload, stale).status_code == 400
    _nothing_credited(deposit)


def test_missing_signature_is_refused(client, paid_deposit):
    deposit, payload = paid_deposit
    assert _post(client, payload, None).status_code == 400
    _nothing_credited(deposit)


def test_valid_delivery_credits(client, paid_deposit, assert_ledger_ok):
    deposit, payload = paid_deposit
    assert _post(client, payload, signature(payload, WEBHOOK_SECRET)).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.CREDITED
    assert deposit.transaction.idempotency_key == f"stripe:{deposit.stripe_payment_intent}"
    assert balance_get(user=deposit.user).deposited == D("15.00")
    assert_ledger_ok()


def test_declined_card_fails_the_deposit_and_credits_nothing(
    client, db, stripe_settings, localstripe
):
    # R-PAY-2: a failed payment is shown to the customer and never credited.
    deposit = deposit_start(user=UserFactory(), amount=D("9.00"))
    result = pay(deposit, card="pm_card_chargeCustomerFail")
    assert (result.status, result.message) == ("failed", "Your card was declined.")
    assert deposit.status == Deposit.Status.FAILED
    assert deposit.failure_message == "Your card was declined."

    intent = requests.get(
        f"{localstripe}/v1/payment_intents",
        params={"limit": 10000},  # every intent of the session, not the first page
        auth=("sk_test_panel", ""),
        timeout=10,
    ).json()["data"]
    failed = [pi for pi in intent if pi["metadata"].get("deposit_id") == str(deposit.pk)]
    payload = stripe_event(localstripe, failed[0]["id"], "payment_intent.payment_failed")
    assert _post(client, payload, signature(payload, WEBHOOK_SECRET)).status_code == 200
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.FAILED
    assert balance_get(user=deposit.user).total == 0


def test_events_that_are_not_deposits_are_acknowledged_and_ignored(client, db, stripe_settings):
    payload = json.dumps(
        {"id": "evt_1", "type": "customer.created", "data": {"object": {"object": "customer"}}}
    )
    assert _post(client, payload, signature(payload, WEBHOOK_SECRET)).status_code == 200
    foreign = json.dumps(
        {
            "id": "evt_2",
            "type": "payment_intent.succeeded",
            "data": {"object": {"object": "payment_intent", "id": "pi_x", "metadata": {}}},
        }
    )
    assert _post(client, foreign, signature(foreign, WEBHOOK_SECRET)).status_code == 200
    assert not Transaction.objects.exists()
