"""Chargebacks (R-PAY-4): Stripe's signed ``charge.dispute.created`` suspends the account,
forfeits positive Deposited Funds, cancels Promotional Credit and leaves whatever the
disputed payment exceeds them by Owed (R-BAL-5); the next deposits repay it (R-BAL-6).
Exactly once however often and however concurrently the event arrives: the unique event
id, a lock on the disputed deposit, the unique dispute id and the ledger key."""

from __future__ import annotations

import contextlib
import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing import stripe_api
from billing.models import (
    Account,
    Deposit,
    Dispute,
    RefKind,
    TransactionReason,
    Withdrawal,
)
from billing.money import ZERO, usd_text

from .ledger import _customer_accounts_locked, _post, _system_account

logger = logging.getLogger(__name__)
Kind = Account.Kind


def dispute_open(*, event: dict, record) -> str:
    """Act on ``charge.dispute.created`` (``record`` stores the event id once)."""
    from accounts.exceptions import AccountStatusRefused
    from accounts.services import account_suspend

    from .affiliates import commission_clawback
    from .states import withdrawal_transition
    from .withdrawals import _release

    obj = event["data"]["object"]
    intent_id = obj.get("payment_intent") or ""
    with transaction.atomic():
        if not record(event=event, payment_intent=intent_id):
            return "duplicate event"
        deposit = (
            Deposit.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(stripe_payment_intent=intent_id, status=Deposit.Status.CREDITED)
            .first()
        )
        if deposit is None or not intent_id:
            return "not a payment of this panel"
        if Dispute.objects.filter(stripe_dispute_id=obj["id"]).exists():
            return "dispute already handled"
        user = deposit.user
        amount = stripe_api.from_cents(obj.get("amount") or 0) or deposit.amount
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        # Pending withdrawals come back first: that money is forfeited with the rest.
        for withdrawal in Withdrawal.objects.select_for_update().filter(
            user=user, status=Withdrawal.Status.PENDING
        ):
            _release(
                withdrawal=withdrawal,
                accounts=accounts,
                memo=f"Withdrawal #{withdrawal.pk} canceled by a chargeback",
                fee_back=False,
                key="release",
            )
            withdrawal_transition(withdrawal=withdrawal, new=Withdrawal.Status.CANCELED,
                                  cause="dispute")  # fmt: skip
        dispute = Dispute.objects.create(
            stripe_dispute_id=obj["id"],
            deposit=deposit,
            user=user,
            amount=amount,
            reason=(obj.get("reason") or "")[:64],
            status=(obj.get("status") or "needs_response")[:32],
        )
        deposited = accounts[Kind.DEPOSITED].balance
        promotional = accounts[Kind.PROMOTIONAL].balance
        owed = max(amount - deposited, ZERO)
        forfeited_excess = max(deposited - amount, ZERO)
        dispute.forfeited = deposited
        dispute.promo_canceled = promotional
        dispute.owed = owed
        dispute.transaction = _post(
            user=user,
            reason=TransactionReason.CHARGEBACK,
            memo=(
                f"Chargeback of payment #{deposit.pk} ({usd_text(amount)}): Deposited Funds "
                f"{usd_text(deposited)} forfeited, "
                f"Promotional Credit {usd_text(promotional)} canceled"
                + (f", {usd_text(owed)} owed" if owed else "")
            ),
            ref_kind=RefKind.DISPUTE,
            ref_id=dispute.pk,
            idempotency_key=f"dispute:{obj['id']}",
            legs=[
                (accounts[Kind.DEPOSITED], -deposited),
                (accounts[Kind.OWED], -owed),
                (_system_account(Kind.PROCESSOR_CLEARING), amount),
                (_system_account(Kind.FORFEITURES), forfeited_excess),
                (accounts[Kind.PROMOTIONAL], -promotional),
                (_system_account(Kind.PROMOTIONS_EXPENSE), promotional),
            ],
        )
        dispute.save(update_fields=["forfeited", "promo_canceled", "owed", "transaction"])
        commission_clawback(
            deposit=deposit, share=Decimal(1), key=f"dispute:{obj['id']}", cause="disputed"
        )
        with contextlib.suppress(AccountStatusRefused):  # already suspended or closed
            account_suspend(
                user=user, reason=f"Chargeback of payment #{deposit.pk} (R-PAY-4)", actor=None
            )
    return f"dispute {dispute.pk} opened"


def dispute_close(*, event: dict, record) -> str:
    """``charge.dispute.closed``: the outcome is recorded (won: staff may reinstate)."""
    obj = event["data"]["object"]
    with transaction.atomic():
        if not record(event=event, payment_intent=obj.get("payment_intent") or ""):
            return "duplicate event"
        dispute = Dispute.objects.select_for_update().filter(stripe_dispute_id=obj["id"]).first()
        if dispute is None:
            return "unknown dispute"
        dispute.status = (obj.get("status") or "closed")[:32]
        dispute.closed_at = timezone.now()
        dispute.save(update_fields=["status", "closed_at"])
    return f"dispute {dispute.pk} {dispute.status}"
