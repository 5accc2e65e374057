"""Helpers for tests against localstripe: pay a deposit without a browser, fetch the event
Stripe emitted for it, sign payloads with the documented scheme."""

import hashlib
import hmac
import json
import time

import requests

from billing import stripe_api
from billing.services import deposit_charge, deposit_setup


def pay(deposit, card: str = "pm_card_visa"):
    """What the pay page does: a SetupIntent confirmed with a card, then the charge."""
    deposit_setup(deposit=deposit)
    deposit.refresh_from_db()
    stripe_api.client().v1.setup_intents.confirm(
        deposit.stripe_setup_intent, params={"payment_method": card}
    )
    result = deposit_charge(deposit=deposit)
    deposit.refresh_from_db()
    return result


def stripe_event(base_url: str, payment_intent: str, event_type: str) -> str:
    """The raw JSON of the event localstripe emitted for a payment intent."""
    response = requests.get(
        f"{base_url}/v1/events",
        params={"type": event_type, "limit": 10000},
        auth=("sk_test_panel", ""),
        timeout=10,
    )
    response.raise_for_status()
    for event in response.json()["data"]:
        if event["data"]["object"]["id"] == payment_intent:
            return json.dumps(event)
    raise AssertionError(f"no {event_type} event for {payment_intent}")


def signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe-Signature: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<payload>")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
