"""Deposits: card payments through Stripe (R-PAY-1..3, R-PAY-5) and operators' top-ups.

The card flow: the customer chooses an amount (and a promo code) -> ``deposit_start``;
the pay page opens a SetupIntent (``deposit_setup``) and Stripe.js collects the card
into it, so card data never touches the panel; ``deposit_charge`` then confirms a
PaymentIntent for the amount with that card. The balance moves only when Stripe's
signed ``payment_intent.succeeded`` webhook arrives (``stripe_event_handle``), once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from billing import stripe_api
from billing.exceptions import DepositRefused, PaymentFailed
from billing.models import (
    Account,
    Deposit,
    RefKind,
    StripeCustomer,
    StripeEvent,
    Transaction,
    WebhookAnomaly,
)
from billing.money import ZERO, quantize, usd_text

from .affiliates import commission_credit
from .ledger import deposit_credit, promo_credit_grant
from .promos import promo_code_check, promo_redeem

logger = logging.getLogger(__name__)

Status = Deposit.Status


def _usd(amount: Decimal) -> str:
    return usd_text(amount)


def deposit_amount_check(*, amount: Decimal) -> Decimal:
    """A card deposit is whole cents within the minimum and maximum (R-PAY-5)."""
    if not isinstance(amount, Decimal) or amount != amount.quantize(Decimal("0.01")):
        raise DepositRefused(gettext("Enter an amount in dollars and cents."))
    if amount < settings.DEPOSIT_MIN:
        raise DepositRefused(
            gettext("The minimum deposit is %(amount)s.") % {"amount": _usd(settings.DEPOSIT_MIN)}
        )
    if amount > settings.DEPOSIT_MAX:
        raise DepositRefused(
            gettext("The maximum deposit is %(amount)s.") % {"amount": _usd(settings.DEPOSIT_MAX)}
        )
    return quantize(amount)


def deposit_start(*, user, amount: Decimal, promo_code: str = "") -> Deposit:
    """A card deposit the customer is about to pay; nothing is credited yet."""
    if not stripe_api.cards_enabled():
        raise DepositRefused(gettext("Card payments are not available at the moment."))
    amount = deposit_amount_check(amount=amount)
    promo = promo_code_check(code=promo_code, user=user, amount=amount) if promo_code else None
    return Deposit.objects.create(
        user=user, method=Deposit.Method.STRIPE, amount=amount, promo_code=promo
    )


def stripe_customer_get_or_create(*, user) -> str:
    """The customer's id at Stripe (only our user id is sent, R-PRV-1)."""
    existing = StripeCustomer.objects.filter(user=user).values_list("customer_id", flat=True)
    if customer_id := existing.first():
        return customer_id
    customer = stripe_api.client().v1.customers.create(
        params={"metadata": {"user_id": str(user.pk)}}
    )
    try:
        with transaction.atomic():
            StripeCustomer.objects.create(user=user, customer_id=customer.id)
    except IntegrityError:  # a concurrent request stored one first; use it (ours stays unused)
        return StripeCustomer.objects.get(user=user).customer_id
    return customer.id


def deposit_setup(*, deposit: Deposit) -> str:
    """Open the SetupIntent that Stripe.js fills with the customer's card; its client secret."""
    if deposit.method != Deposit.Method.STRIPE or deposit.status != Status.AWAITING_PAYMENT:
        raise DepositRefused(gettext("This payment is already under way."))
    customer_id = stripe_customer_get_or_create(user=deposit.user)
    try:
        setup = stripe_api.client().v1.setup_intents.create(
            params={
                "customer": customer_id,
                "payment_method_types": ["card"],
                "usage": "on_session",
                "metadata": {"deposit_id": str(deposit.pk)},
            }
        )
    except stripe.StripeError as exc:
        logger.warning("deposit %s: SetupIntent failed: %s", deposit.pk, exc)
        raise PaymentFailed(
            gettext("The payment service did not answer. Please try again.")
        ) from exc
    Deposit.objects.filter(pk=deposit.pk, status=Status.AWAITING_PAYMENT).update(
        stripe_setup_intent=setup.id
    )
    return setup.client_secret


@dataclass(frozen=True)
class ChargeResult:
    """What the pay page does next: wait for the webhook, authenticate (3-D Secure), or retry."""

    status: str  # "processing", "requires_action" or "failed"
    client_secret: str = ""
    message: str = ""


def _deposit_fail(deposit_id: int, message: str) -> None:
    Deposit.objects.filter(pk=deposit_id).exclude(status=Status.CREDITED).update(
        status=Status.FAILED, failure_message=message[:255], updated_at=timezone.now()
    )


def deposit_charge(*, deposit: Deposit) -> ChargeResult:
    """Charge the card that Stripe.js saved on the deposit's SetupIntent (R-PAY-1).

    The deposit is claimed with one conditional UPDATE (awaiting payment -> pending), so a
    double click charges once; the PaymentIntent's idempotency key makes a retried call
    safe. Nothing is credited here: only the webhook credits (R-PAY-2).
    """
    claimed = (
        Deposit.objects.filter(
            pk=deposit.pk, method=Deposit.Method.STRIPE, status=Status.AWAITING_PAYMENT
        )
        .exclude(stripe_setup_intent="")
        .update(status=Status.PROCESSING, updated_at=timezone.now())
    )
    if not claimed:
        raise DepositRefused(gettext("This payment is already under way."))
    deposit.refresh_from_db()
    client = stripe_api.client()
    try:
        setup = client.v1.setup_intents.retrieve(deposit.stripe_setup_intent)
        customer_id = StripeCustomer.objects.get(user=deposit.user).customer_id
        if setup.status != "succeeded" or setup.customer != customer_id:
            Deposit.objects.filter(pk=deposit.pk).update(status=Status.AWAITING_PAYMENT)
            raise PaymentFailed(gettext("Your card was not set up. Please enter it again."))
        intent = client.v1.payment_intents.create(
            params={
                "amount": stripe_api.to_cents(deposit.amount),
                "currency": "usd",
                "customer": customer_id,
                "payment_method": setup.payment_method,
                "payment_method_types": ["card"],
                "confirm": True,
                "metadata": {"deposit_id": str(deposit.pk), "user_id": str(deposit.user_id)},
            },
            options={"idempotency_key": f"deposit-{deposit.pk}-{setup.id}"},
        )
    except stripe.CardError as exc:
        message = exc.user_message or "Your card was declined."
        _deposit_fail(deposit.pk, message)
        return ChargeResult(status="failed", message=message)
    except stripe.StripeError as exc:
        logger.warning("deposit %s: charge failed: %s", deposit.pk, exc)
        Deposit.objects.filter(pk=deposit.pk, status=Status.PROCESSING).update(
            status=Status.AWAITING_PAYMENT
        )
        raise PaymentFailed(
            gettext("The payment service did not answer. Please try again.")
        ) from exc

    Deposit.objects.filter(pk=deposit.pk).update(stripe_payment_intent=intent.id)
    if intent.status == "requires_action":
        return ChargeResult(status="requires_action", client_secret=intent.client_secret)
    if intent.status in ("requires_payment_method", "canceled"):
        error = intent.to_dict().get("last_payment_error") or {}
        message = error.get("message") or "Your card was declined."
        _deposit_fail(deposit.pk, message)
        return ChargeResult(status="failed", message=message)
    return ChargeResult(status="processing")


def _event_record(*, event: dict, payment_intent: str) -> bool:
    """Record a webhook event; False if it was recorded before (the unique id decides)."""
    try:
        with transaction.atomic():
            StripeEvent.objects.create(
                event_id=event["id"], type=event["type"], payment_intent=payment_intent
            )
    except IntegrityError:
        return False
    return True


def _intent_paid(intent_id: str) -> tuple[dict, Decimal, Decimal]:
    """What Stripe says now, not only what the event said: the intent, amount received and
    the processor's fee from the charge's balance transaction (R-PAY-3)."""
    intent = (
        stripe_api.client()
        .v1.payment_intents.retrieve(
            intent_id, params={"expand": ["latest_charge.balance_transaction", "payment_method"]}
        )
        .to_dict()
    )
    amount = stripe_api.from_cents(intent.get("amount_received") or intent["amount"])
    balance_txn = (intent.get("latest_charge") or {}).get("balance_transaction") or {}
    fee = ZERO
    if balance_txn.get("currency") == "usd":
        fee = stripe_api.from_cents(balance_txn.get("fee") or 0)
    return intent, amount, fee


def _deposit_locked(*, deposit_id: str, intent: dict) -> Deposit | None:
    """The deposit the intent pays, locked; None if it is not one of this panel's."""
    deposit = (
        Deposit.objects.select_for_update(of=("self",))
        .select_related("user")
        .filter(pk=deposit_id, method=Deposit.Method.STRIPE)
        .first()
    )
    if deposit is None or str(deposit.user_id) != intent["metadata"].get("user_id"):
        # Another panel on the same Stripe account, or a forged reference.
        logger.error("payment intent %s does not match deposit %s", intent["id"], deposit_id)
        return None
    return deposit


def webhook_anomaly_record(
    *, event: dict, payment_intent: str, deposit_id: str, reason: str
) -> str:
    """A signed event that can never succeed: logged and kept for staff, answered 2xx so
    Stripe stops retrying it (only what a retry can fix answers 5xx). Once per event id."""
    logger.error("stripe webhook %s: anomaly: %s", event.get("id"), reason)
    WebhookAnomaly.objects.get_or_create(
        event_id=str(event.get("id", ""))[:255] or "(no id)",
        defaults={
            "type": str(event.get("type", ""))[:100],
            "payment_intent": payment_intent[:255],
            "deposit_id": deposit_id[:32],
            "reason": reason,
            "payload": event,
        },
    )
    return f"anomaly: {reason}"


class _AnomalyError(Exception):
    """A signed event that can never succeed (see ``webhook_anomaly_record``)."""


def _deposit_confirm(*, event: dict, intent_id: str, deposit_id: str) -> str:
    try:
        return _deposit_confirm_checked(event=event, intent_id=intent_id, deposit_id=deposit_id)
    except _AnomalyError as exc:
        return webhook_anomaly_record(
            event=event, payment_intent=intent_id, deposit_id=deposit_id, reason=str(exc)
        )


def _intent_of_deposit(*, intent_id: str, deposit_id: str) -> tuple[dict, Decimal, Decimal]:
    """``_intent_paid``, refusing (``_AnomalyError``) what no retry can fix."""
    try:
        intent, amount, fee = _intent_paid(intent_id)
    except stripe.InvalidRequestError as exc:
        # Stripe answered 4xx for this intent (unknown, not ours): no retry can change that.
        # Network failures, 5xx, rate limits and key problems still raise: those answer 503.
        reason = f"Stripe refused to give payment intent {intent_id}: {exc.code}"
        raise _AnomalyError(reason) from exc
    paid_deposit = str((intent.get("metadata") or {}).get("deposit_id", ""))
    if paid_deposit != deposit_id:
        raise _AnomalyError(
            f"the event names deposit {deposit_id}, but Stripe says intent {intent_id} "
            f"pays deposit {paid_deposit or '(none)'}"
        )
    return intent, amount, fee


def _deposit_confirm_checked(*, event: dict, intent_id: str, deposit_id: str) -> str:
    intent, amount, fee = _intent_of_deposit(intent_id=intent_id, deposit_id=deposit_id)
    if intent["status"] != "succeeded" or intent["currency"] != "usd":
        return f"payment intent {intent_id} is {intent['status']} in {intent['currency']}"

    with transaction.atomic():
        if not _event_record(event=event, payment_intent=intent_id):
            return "duplicate event"
        deposit = _deposit_locked(deposit_id=deposit_id, intent=intent)
        if deposit is None:
            raise _AnomalyError(f"intent {intent_id} does not pay a deposit of this panel")
        if deposit.status == Status.CREDITED:
            return "already credited"
        other = (
            Deposit.objects.filter(stripe_payment_intent=intent_id).exclude(pk=deposit.pk).first()
        )
        if other is not None:
            raise _AnomalyError(f"intent {intent_id} already paid deposit {other.pk}")
        if amount != deposit.amount:
            logger.warning(
                "deposit %s: asked %s, Stripe received %s; crediting what was received",
                deposit.pk,
                deposit.amount,
                amount,
            )
        txn = deposit_credit(
            user=deposit.user,
            amount=amount,
            fee=fee,
            memo=f"Card deposit #{deposit.pk}",
            ref_kind=RefKind.DEPOSIT,
            ref_id=deposit.pk,
            idempotency_key=f"stripe:{intent_id}",
        )
        deposit.amount = amount
        deposit.fee = fee
        method = intent.get("payment_method")
        if isinstance(method, dict):  # R-PRO-3: the card, to refuse self-referrals
            deposit.card_fingerprint = ((method.get("card") or {}).get("fingerprint") or "")[:64]
        deposit.status = Status.CREDITED
        deposit.transaction = txn
        deposit.stripe_payment_intent = intent_id
        deposit.failure_message = ""
        deposit.credited_at = timezone.now()
        promo_redeem(deposit=deposit)
        deposit.save()
        _card_link(user=deposit.user, intent=intent)
        commission_credit(deposit=deposit)  # R-PRO-3
        deposit_credited_notice(deposit=deposit)
    return f"deposit {deposit.pk} credited"


def _card_link(*, user, intent: dict) -> None:
    """R-ACC-4: accounts paying with one card are linked (the card's fingerprint at Stripe)."""
    from accounts.models import AccountSignal
    from accounts.services import account_signal_record

    method = intent.get("payment_method")
    card = (method.get("card") if isinstance(method, dict) else None) or {}
    if card.get("fingerprint"):
        account_signal_record(user=user, kind=AccountSignal.Kind.CARD, value=card["fingerprint"])


def _deposit_payment_failed(*, event: dict, intent: dict, deposit_id: str) -> str:
    error = intent.get("last_payment_error") or {}
    with transaction.atomic():
        if not _event_record(event=event, payment_intent=intent["id"]):
            return "duplicate event"
        _deposit_fail(int(deposit_id), error.get("message") or "The payment failed.")
    return f"deposit {deposit_id} failed"


def stripe_event_handle(*, event: dict) -> str:  # noqa: PLR0911 (one answer per event kind)
    """Act on one webhook event whose signature was verified; safe to receive any number
    of times, concurrently (R-PAY-2). Returns what was done, for the log."""
    intent = event.get("data", {}).get("object", {})
    if intent.get("object") == "dispute":  # R-PAY-4
        from .disputes import dispute_close, dispute_open

        if event["type"] == "charge.dispute.created":
            return dispute_open(event=event, record=_event_record)
        if event["type"] == "charge.dispute.closed":
            return dispute_close(event=event, record=_event_record)
        return "ignored"
    if intent.get("object") != "payment_intent":
        return "ignored"
    deposit_id = str((intent.get("metadata") or {}).get("deposit_id", ""))
    if not (deposit_id.isascii() and deposit_id.isdigit() and len(deposit_id) <= 18):
        return "not a deposit"
    if event["type"] == "payment_intent.succeeded":
        return _deposit_confirm(event=event, intent_id=intent["id"], deposit_id=deposit_id)
    if event["type"] == "payment_intent.payment_failed":
        return _deposit_payment_failed(event=event, intent=intent, deposit_id=deposit_id)
    return "ignored"


def deposit_manual_create(*, user, amount: Decimal, memo: str, actor=None) -> Deposit:
    """An operator's top-up of Deposited Funds (bank transfer...), through the ledger."""
    with transaction.atomic():
        deposit = Deposit.objects.create(
            user=user,
            method=Deposit.Method.MANUAL,
            amount=amount,
            status=Status.PROCESSING,
            memo=memo[:255],
        )
        txn = deposit_credit(
            user=user,
            amount=amount,
            manual=True,
            memo=f"Manual deposit #{deposit.pk}: {memo}",
            ref_kind=RefKind.DEPOSIT,
            ref_id=deposit.pk,
            actor=actor,
        )
        deposit.status = Status.CREDITED
        deposit.transaction = txn
        deposit.credited_at = timezone.now()
        deposit.save(update_fields=["status", "transaction", "credited_at", "updated_at"])
        commission_credit(deposit=deposit)  # R-PRO-3
        deposit_credited_notice(deposit=deposit)
    return deposit


def deposit_credited_notice(*, deposit: Deposit) -> None:
    """Tell the customer their deposit is in their balance (issue 14): an in-account notice,
    mailed after commit unless they switched these mails off."""
    from django.urls import reverse
    from django.utils.translation import gettext_noop

    from accounts.notices import notice_text
    from accounts.services import notice_send

    params = {"number": deposit.pk, "amount": usd_text(deposit.amount)}
    notice_send(
        user=deposit.user,
        kind="deposit_credited",
        subject=notice_text(gettext_noop("Deposit #%(number)s credited: %(amount)s"), **params),
        body=notice_text(gettext_noop("%(amount)s was added to your Deposited Funds."), **params),
        url=reverse("billing:deposit_detail", args=[deposit.pk]),
    )


def funds_add_manual(*, user, amount: Decimal, source: str, reason: str, actor=None) -> Transaction:
    """The operator's manual top-up (``manage.py add_funds``): Deposited Funds as a manual
    deposit, or Promotional Credit as a grant (goodwill)."""
    if not reason.strip():
        raise ValueError("a manual top-up needs a reason")
    if source == Account.Kind.DEPOSITED:
        deposit = deposit_manual_create(user=user, amount=amount, memo=reason, actor=actor)
        return cast(Transaction, deposit.transaction)  # a manual deposit is always posted
    if source == Account.Kind.PROMOTIONAL:
        return promo_credit_grant(
            user=user,
            amount=amount,
            memo=f"Promotional credit: {reason}",
            ref_kind=RefKind.STAFF,
            ref_id=actor.pk if actor else "",
            actor=actor,
        )
    raise ValueError(f"unknown source {source!r}: deposited or promotional")
