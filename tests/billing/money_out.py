"""Helpers for the tests of money going out (issue 12): real card deposits on localstripe,
Stripe events signed with the stripe library's own scheme, ledger look-ups."""

import json
import time
from decimal import Decimal

import stripe

from billing.models import Account, Deposit
from billing.services import deposit_start, stripe_event_handle
from billing.services import deposits as deposits_module
from tests.billing.conftest import WEBHOOK_SECRET
from tests.billing.stripe_helpers import pay, stripe_event

D = Decimal


def card_deposit(user, amount: str, localstripe, *, card="pm_card_visa", fee: str | None = None):
    """A card deposit paid on localstripe and credited by its (real) webhook event.

    localstripe's balance transactions carry no fee; ``fee`` stands in for the one Stripe's
    balance transaction reports (R-PAY-3), so the fee arithmetic can be proven."""
    deposit = deposit_start(user=user, amount=D(amount))
    assert pay(deposit, card).status == "processing"
    payload = stripe_event(localstripe, deposit.stripe_payment_intent, "payment_intent.succeeded")
    real = deposits_module._intent_paid
    if fee is not None:
        deposits_module._intent_paid = lambda intent_id: (*real(intent_id)[:2], D(fee))
    try:
        stripe_event_handle(event=json.loads(payload))
    finally:
        deposits_module._intent_paid = real
    deposit.refresh_from_db()
    assert deposit.status == Deposit.Status.CREDITED
    return deposit


def system_balance(kind: str) -> Decimal:
    """A panel account's balance in its natural sense (credits minus debits, or the reverse)."""
    account = Account.objects.filter(kind=kind, user=None).first()
    if account is None:
        return D("0")
    total = sum((entry.amount for entry in account.entries.all()), D("0"))
    return account.sign * total


def signed_event(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[str, str]:
    """The raw body and Stripe-Signature header of an event, signed with the stripe library."""
    payload = json.dumps(event)
    timestamp = int(time.time())
    mac = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return payload, f"t={timestamp},v1={mac}"


def dispute_event(deposit, *, event_id: str, dispute_id: str, kind="created", amount=None,
                  status="needs_response") -> dict:  # fmt: skip
    cents = int((amount if amount is not None else deposit.amount) * 100)
    return {
        "id": event_id,
        "object": "event",
        "type": f"charge.dispute.{kind}",
        "data": {
            "object": {
                "id": dispute_id,
                "object": "dispute",
                "amount": cents,
                "currency": "usd",
                "payment_intent": deposit.stripe_payment_intent,
                "reason": "fraudulent",
                "status": status,
            }
        },
    }


def finance_group():
    """The "Finance" group as migration billing/0004 makes it (a transactional test's flush
    empties the table, so it is made again here the same way)."""
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Group

    importlib.import_module("billing.migrations.0004_finance_group").forwards(apps, None)
    return Group.objects.get(name="Finance")
