"""Money back to the card: withdrawals (R-WDR-3..5) and refunds (R-WDR-1, R-WDR-2, R-WDR-6).

A withdrawal is confirmed at the figure the customer saw; at once its payout (and the
deposit fees withheld) moves from Deposited Funds to the customer's Pending payout account
and the processing fee to the panel, so the same dollars cannot also be spent. An order
paid from Deposited Funds cancels it (R-WDR-4, ``withdrawals_cancel_for_spend``, called by
every spend path): the hold returns, the fee is kept. Finance staff approve; the payout is
paid by Stripe Refunds on the original PaymentIntents, oldest first, split across deposits;
what Stripe refuses returns from the hold to Deposited Funds.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop

from accounts.notices import notice_text
from billing import stripe_api
from billing.exceptions import WithdrawalRefused
from billing.models import (
    Account,
    CustomerFlag,
    DormancyCase,
    RefKind,
    Transaction,
    TransactionReason,
    Withdrawal,
    WithdrawalRefund,
)
from billing.money import ZERO, usd_text
from billing.selectors import PayoutFigure, payout_figure, refundable_deposits
from legal.selectors import account_held

from .ledger import _customer_accounts_locked, _money, _post, _system_account
from .states import withdrawal_transition

logger = logging.getLogger(__name__)

Kind = Account.Kind
Status = Withdrawal.Status


def _notify(withdrawal: Withdrawal, subject: Promise, body: str | Promise = "") -> None:
    """A notice to the customer, written in their language (``accounts.notices.notice_text``)."""
    from django.urls import reverse

    from accounts.services import notice_send

    notice_send(
        user=withdrawal.user,
        kind="withdrawal",
        subject=subject,
        body=body,
        url=reverse("billing:withdrawals"),
    )


def _locked(withdrawal_id: int) -> Withdrawal:
    return Withdrawal.objects.select_for_update().select_related("user").get(pk=withdrawal_id)


def _verification_required(*, user, amount: Decimal) -> bool:
    """R-WDR-5: staff flagged the account, or the payout is a large transaction."""
    flagged = CustomerFlag.objects.filter(user=user, verification_required=True).exists()
    return flagged or amount > settings.WITHDRAWAL_VERIFY_ABOVE


def _hold(*, withdrawal: Withdrawal, accounts, figure: PayoutFigure) -> Transaction:
    """Deposited Funds -> Pending payout (payout + deposit fees) and the fee to the panel."""
    label = "Refund to card" if withdrawal.kind == Withdrawal.Kind.REFUND else "Withdrawal"
    parts = [f"{usd_text(figure.amount)} to your card"]
    if figure.fee:
        parts.append(f"processing fee {usd_text(figure.fee)}")
    if figure.deposit_fees:
        parts.append(f"deposit fees {usd_text(figure.deposit_fees)}")
    if figure.promo_deducted:
        parts.append(f"promotional credit deducted {usd_text(figure.promo_deducted)}")
    return _post(
        user=withdrawal.user,
        reason=TransactionReason.WITHDRAWAL,
        memo=f"{label} #{withdrawal.pk}: " + ", ".join(parts),
        ref_kind=RefKind.WITHDRAWAL,
        ref_id=withdrawal.pk,
        idempotency_key=f"withdrawal:{withdrawal.pk}:hold",
        legs=[
            (accounts[Kind.DEPOSITED], -figure.taken),
            (accounts[Kind.PAYOUT_HOLD], figure.amount + figure.deposit_fees),
            (_system_account(Kind.WITHDRAWAL_FEES), figure.fee),
            (_system_account(Kind.PROMOTIONS_EXPENSE), figure.promo_deducted),
        ],
    )


def _frozen(user) -> bool:
    return DormancyCase.objects.filter(user=user, state=DormancyCase.State.FROZEN).exists()


HELD = gettext_noop(
    "Your account is under review; withdrawals and refunds wait until staff finish it."
)
HELD_STAFF = "The account is on hold under investigation: nothing is paid out until it ends."


def _held_check(user, message: str = HELD) -> None:
    """R-AUP-2, R-WDR-5: a hold keeps the balance as evidence; no money leaves meanwhile."""
    if account_held(user=user):
        raise WithdrawalRefused(gettext(message))


def withdrawal_request(*, user, expected_amount: Decimal | None = None) -> Withdrawal:
    """Confirm a withdrawal of all unused Deposited Funds at the figure shown (R-WDR-3).

    ``expected_amount`` is the figure the customer saw; if it changed meanwhile nothing
    happens and ``WithdrawalRefused`` says so. Never Promotional Credit (R-PRO-2)."""
    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        _held_check(user)
        if _frozen(user):
            raise WithdrawalRefused(
                gettext(
                    "Your balance is frozen after a long inactivity; ask us to restore it first."
                )
            )
        figure = payout_figure(user=user, deposited=accounts[Kind.DEPOSITED].balance)
        if figure.amount <= 0:
            raise WithdrawalRefused(
                gettext(
                    "There is nothing to withdraw: no unused Deposited Funds that can go back to "
                    "the card you paid with, after the fees."
                )
            )
        if expected_amount is not None and expected_amount != figure.amount:
            raise WithdrawalRefused(
                gettext("The amount changed to %(amount)s; please review it and confirm again.")
                % {"amount": usd_text(figure.amount)}
            )
        withdrawal = Withdrawal.objects.create(
            user=user,
            kind=Withdrawal.Kind.WITHDRAWAL,
            status=Status.PENDING,
            deposited=figure.deposited,
            fee_percent=figure.fee_percent,
            fee=figure.fee,
            deposit_fees=figure.deposit_fees,
            amount=figure.amount,
            requires_verification=_verification_required(user=user, amount=figure.amount),
            created_by=user,
        )
        withdrawal.events.create(new_status=Status.PENDING, cause="customer", actor=user)
        _hold(withdrawal=withdrawal, accounts=accounts, figure=figure)
    return withdrawal


def _release(*, withdrawal: Withdrawal, accounts, memo: str, fee_back: bool, key: str):
    """Pending payout -> Deposited Funds (and the fee back, when staff reject)."""
    legs = [
        (accounts[Kind.PAYOUT_HOLD], -withdrawal.held),
        (accounts[Kind.DEPOSITED], withdrawal.held),
    ]
    if fee_back and (withdrawal.fee or withdrawal.promo_deducted):
        legs += [
            (_system_account(Kind.WITHDRAWAL_FEES), -withdrawal.fee),
            (_system_account(Kind.PROMOTIONS_EXPENSE), -withdrawal.promo_deducted),
            (accounts[Kind.DEPOSITED], withdrawal.fee + withdrawal.promo_deducted),
        ]
    return _post(
        user=withdrawal.user,
        reason=TransactionReason.WITHDRAWAL_UNDO,
        memo=memo,
        ref_kind=RefKind.WITHDRAWAL,
        ref_id=withdrawal.pk,
        idempotency_key=f"withdrawal:{withdrawal.pk}:{key}",
        legs=legs,
    )


def withdrawals_cancel_for_spend(*, user, accounts) -> list[Withdrawal]:
    """R-WDR-4: cancel the customer's pending withdrawals because an order is being paid from
    Deposited Funds. Called under the customer's account locks by the spend paths; the hold
    returns to Deposited Funds, the processing fee is kept."""
    canceled = []
    for withdrawal in Withdrawal.objects.select_for_update().filter(
        user=user, status=Status.PENDING
    ):
        _release(
            withdrawal=withdrawal,
            accounts=accounts,
            memo=f"Withdrawal #{withdrawal.pk} canceled by a new order (fee kept)",
            fee_back=False,
            key="release",
        )
        withdrawal_transition(
            withdrawal=withdrawal,
            new=Status.CANCELED,
            cause="order",
            note="An order was paid from Deposited Funds (R-WDR-4).",
        )
        canceled.append(withdrawal)
    return canceled


def withdrawal_cancel(*, user, withdrawal_id: int) -> Withdrawal:
    """The customer cancels a pending withdrawal (its fee is kept, R-WDR-4) or declines a
    refund offer."""
    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id, user=user)
        if withdrawal.status == Status.PENDING:
            _release(
                withdrawal=withdrawal,
                accounts=accounts,
                memo=f"Withdrawal #{withdrawal.pk} canceled by you (fee kept)",
                fee_back=False,
                key="release",
            )
        elif withdrawal.status != Status.AWAITING_CONFIRMATION:
            raise WithdrawalRefused(gettext("This request can no longer be canceled."))
        withdrawal_transition(withdrawal=withdrawal, new=Status.CANCELED, cause="customer")
    return withdrawal


def withdrawal_reject(*, withdrawal_id: int, actor, reason: str) -> Withdrawal:
    """Finance staff refuse a withdrawal or refund: everything, fee included, returns."""
    if not reason.strip():
        raise WithdrawalRefused("Give the reason.")
    with transaction.atomic():
        user = Withdrawal.objects.get(pk=withdrawal_id).user
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status == Status.PENDING:
            _release(
                withdrawal=withdrawal,
                accounts=accounts,
                memo=f"Withdrawal #{withdrawal.pk} rejected: {reason.strip()}",
                fee_back=True,
                key="reject",
            )
        elif withdrawal.status != Status.AWAITING_CONFIRMATION:
            raise WithdrawalRefused(f"It is {withdrawal.get_status_display().lower()}.")
        withdrawal_transition(
            withdrawal=withdrawal, new=Status.REJECTED, cause="staff", actor=actor, note=reason
        )
        _notify(
            withdrawal,
            notice_text(
                gettext_noop("Your request #%(number)s was not approved"), number=withdrawal.pk
            ),
            reason.strip(),  # the staff member's words, as written
        )
    return withdrawal


def customer_verification_set(*, user, required: bool, actor, note: str = "") -> CustomerFlag:
    """R-WDR-5: staff require (or stop requiring) verification before this customer's payouts;
    pending requests follow the flag."""
    with transaction.atomic():
        flag, _ = CustomerFlag.objects.select_for_update().get_or_create(user=user)
        flag.verification_required = required
        flag.note = note[:255]
        flag.set_by = actor
        flag.save()
        if required:
            Withdrawal.objects.filter(
                user=user, status__in=[Status.AWAITING_CONFIRMATION, Status.PENDING]
            ).update(requires_verification=True, verified_at=None, verified_by=None)
    return flag


def withdrawal_verification_require(*, withdrawal_id: int, actor, note: str = "") -> Withdrawal:
    """R-WDR-5: nothing is paid out for this request until staff give the verification."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status not in (Status.AWAITING_CONFIRMATION, Status.PENDING):
            raise WithdrawalRefused("Only a request not yet paid can need verification.")
        withdrawal.requires_verification = True
        withdrawal.verified_at = withdrawal.verified_by = None
        withdrawal.save(update_fields=["requires_verification", "verified_at", "verified_by"])
        withdrawal.events.create(
            old_status=withdrawal.status,
            new_status=withdrawal.status,
            cause="verification_required",
            actor=actor,
            note=note[:255],
        )
    return withdrawal


def withdrawal_verify(*, withdrawal_id: int, actor, note: str = "") -> Withdrawal:
    """R-WDR-5: staff give the verification; the request may now be paid."""
    with transaction.atomic():
        withdrawal = _locked(withdrawal_id)
        if not withdrawal.requires_verification or withdrawal.verified_at:
            raise WithdrawalRefused("This request does not wait for verification.")
        withdrawal.verified_at = timezone.now()
        withdrawal.verified_by = actor
        withdrawal.save(update_fields=["verified_at", "verified_by"])
        withdrawal.events.create(
            old_status=withdrawal.status,
            new_status=withdrawal.status,
            cause="verified",
            actor=actor,
            note=note[:255],
        )
    return withdrawal


def _allocate(withdrawal: Withdrawal) -> list[tuple[int, Decimal]]:
    """The payout split over the original card payments, oldest first (deposit id, amount).

    Refund rows already made for this withdrawal (a resumed payout) are kept as they are."""
    made = {r.deposit_id: r.amount for r in withdrawal.refunds.all()}
    left = withdrawal.amount - sum(made.values(), ZERO)
    plan = list(made.items())
    for deposit, available in refundable_deposits(user=withdrawal.user):
        if left <= 0:
            break
        if deposit.pk in made:
            continue
        take = min(available, left)
        plan.append((deposit.pk, take))
        left -= take
    return plan


def _refund_run(withdrawal: Withdrawal) -> tuple[Decimal, str]:
    """Ask Stripe for each refund of the plan (idempotent per withdrawal and deposit); what was
    refunded and the first error."""
    client = stripe_api.client()
    error = ""
    for deposit_id, amount in _allocate(withdrawal):
        row, _ = WithdrawalRefund.objects.get_or_create(
            withdrawal=withdrawal, deposit_id=deposit_id, defaults={"amount": amount}
        )
        if row.succeeded:
            continue
        if error:
            break
        try:
            refund = client.v1.refunds.create(
                params={
                    "payment_intent": row.deposit.stripe_payment_intent,
                    "amount": stripe_api.to_cents(row.amount),
                    "metadata": {"withdrawal_id": str(withdrawal.pk)},
                },
                options={"idempotency_key": f"withdrawal-{withdrawal.pk}-deposit-{deposit_id}"},
            )
        except stripe.StripeError as exc:
            error = (getattr(exc, "user_message", None) or str(exc) or "refused")[:200]
            row.error = error
            row.save(update_fields=["error"])
            logger.warning("withdrawal %s: refund on deposit %s failed", withdrawal.pk, deposit_id)
            continue
        if refund.status in ("succeeded", "pending"):
            row.succeeded = True
            row.stripe_refund_id = refund.id
            row.save(update_fields=["succeeded", "stripe_refund_id"])
        else:
            error = f"Stripe refund {refund.id} is {refund.status}"
            row.error = error
            row.save(update_fields=["error"])
    paid = sum((r.amount for r in withdrawal.refunds.filter(succeeded=True)), ZERO)
    if paid < withdrawal.amount and not error:
        error = "The card payments cannot take back the whole amount."
    return paid, error


def withdrawal_approve(*, withdrawal_id: int, actor) -> Withdrawal:
    """Finance staff approve: the payout goes back through Stripe Refunds on the original
    PaymentIntents (oldest first, split across deposits). Paid, the hold leaves for the
    card; what Stripe refused returns to Deposited Funds (the fee stays). A payout cut short
    (``paying``) is resumed by approving again: Stripe's idempotency keys pay nothing twice."""
    with transaction.atomic():
        user = Withdrawal.objects.get(pk=withdrawal_id).user
        _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status in (Status.PENDING, Status.PAYING):
            _held_check(user, HELD_STAFF)
        if withdrawal.status == Status.PENDING:
            if withdrawal.awaits_verification:  # R-WDR-5
                raise WithdrawalRefused("Verification is required before this can be paid.")
            withdrawal_transition(
                withdrawal=withdrawal, new=Status.PAYING, cause="staff", actor=actor
            )
        elif withdrawal.status != Status.PAYING:
            raise WithdrawalRefused(f"It is {withdrawal.get_status_display().lower()}.")

    paid, error = _refund_run(withdrawal)

    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        withdrawal = _locked(withdrawal_id)
        if withdrawal.status != Status.PAYING:
            return withdrawal
        withdrawal.paid_amount = paid
        withdrawal.failure_message = error
        withdrawal.save(update_fields=["paid_amount", "failure_message"])
        back = withdrawal.held - paid - (withdrawal.deposit_fees if not error else ZERO)
        legs = [
            (accounts[Kind.PAYOUT_HOLD], -withdrawal.held),
            (_system_account(Kind.PROCESSOR_CLEARING), paid),
        ]
        params = {"number": withdrawal.pk, "paid": usd_text(paid), "back": usd_text(back)}
        if error:
            legs.append((accounts[Kind.DEPOSITED], back))
            message = gettext_noop(
                "Withdrawal #%(number)s: %(paid)s paid to your card, %(back)s returned to your "
                "balance (the refund failed)"
            )
        else:
            # The deposit fees withheld make good the processor's fees the panel paid.
            legs.append((_system_account(Kind.PROCESSOR_FEES), withdrawal.deposit_fees))
            message = gettext_noop("Withdrawal #%(number)s: %(paid)s paid to your card")
        memo = message % params  # the ledger keeps English; the notice is the customer's
        _post(
            user=user,
            reason=TransactionReason.PAYOUT,
            memo=memo,
            ref_kind=RefKind.WITHDRAWAL,
            ref_id=withdrawal.pk,
            actor=actor,
            idempotency_key=f"withdrawal:{withdrawal.pk}:payout",
            legs=legs,
        )
        from .affiliates import commission_clawback

        for row in withdrawal.refunds.filter(succeeded=True).select_related("deposit"):
            commission_clawback(  # R-PRO-3: commissions on refunded deposits come back
                deposit=row.deposit,
                share=row.amount / row.deposit.amount,
                key=f"wrefund:{row.pk}",
                cause="refunded",
            )
        new = Status.FAILED if error else Status.PAID
        withdrawal_transition(
            withdrawal=withdrawal, new=new, cause="stripe", actor=actor, note=error
        )
        _notify(withdrawal, notice_text(message, **params))
    return withdrawal


# --- Refunds (R-WDR-1, R-WDR-2, R-WDR-6) --------------------------------------------------------


def _claim_window_check(*, user, order_id: int | None, now=None) -> None:
    """R-WDR-6: no refund is considered for an order after its claim window (R-ORD-14)."""
    if order_id is None:
        return
    from datetime import timedelta

    from orders.models import Order

    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        raise WithdrawalRefused("No such order of this customer.")
    days = settings.SUPPORT_CLAIM_WINDOW_DAYS  # R-ORD-14: the one claim-window setting
    if order.completed_at and (now or timezone.now()) > order.completed_at + timedelta(days=days):
        raise WithdrawalRefused(
            f"The claim window of order #{order.pk} closed on "
            f"{order.completed_at + timedelta(days=days):%Y-%m-%d %H:%M} UTC (R-WDR-6)."
        )


def refund_credit(
    *, user, amount: Decimal, reason: str, actor, reference: str = "", order_id=None, now=None
) -> Transaction:
    """R-WDR-1's default form of a refund: a credit to Deposited Funds, decided by staff."""
    amount = _money(amount)
    if not reason.strip():
        raise WithdrawalRefused("Give the reason.")
    _claim_window_check(user=user, order_id=order_id, now=now)
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        memo = f"Refund: {reason.strip()}"
        if reference:
            memo += f" ({reference})"
        return _post(
            user=user,
            reason=TransactionReason.REFUND,
            memo=memo,
            ref_kind=RefKind.ORDER if order_id else RefKind.STAFF,
            ref_id=order_id or actor.pk,
            actor=actor,
            legs=[
                (_system_account(Kind.ADJUSTMENTS), -amount),
                (accounts[Kind.DEPOSITED], amount),
            ],
        )


def refund_offer(*, user, actor, reference: str, order_id=None, now=None) -> Withdrawal:
    """Finance staff decide on a refund to the payment method (R-WDR-1): the figure of R-WDR-2
    is computed now and offered; the customer sees it and confirms (``refund_confirm``)."""
    if not reference.strip():
        raise WithdrawalRefused("Name the ticket the refund was asked in.")
    _claim_window_check(user=user, order_id=order_id, now=now)
    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        _held_check(user, HELD_STAFF)
        figure = payout_figure(
            user=user, kind=Withdrawal.Kind.REFUND, deposited=accounts[Kind.DEPOSITED].balance
        )
        if figure.amount <= 0:
            raise WithdrawalRefused("The refund figure is zero: there is nothing to refund.")
        withdrawal = Withdrawal.objects.create(
            user=user,
            kind=Withdrawal.Kind.REFUND,
            status=Status.AWAITING_CONFIRMATION,
            deposited=figure.deposited,
            deposit_fees=figure.deposit_fees,
            promo_deducted=figure.promo_deducted,
            amount=figure.amount,
            requires_verification=_verification_required(user=user, amount=figure.amount),
            reference=reference.strip()[:100],
            created_by=actor,
        )
        withdrawal.events.create(
            new_status=Status.AWAITING_CONFIRMATION, cause="staff", actor=actor, note=reference
        )
        _notify(
            withdrawal,
            notice_text(
                gettext_noop("A refund of %(amount)s to your card awaits your confirmation"),
                amount=usd_text(figure.amount),
            ),
            notice_text(gettext_noop("Please review the figure and confirm it in your account.")),
        )
    return withdrawal


def refund_confirm(*, user, withdrawal_id: int) -> Withdrawal:
    """The customer confirms the refund figure (R-WDR-2); the money is held at once. If the
    balance changed since the offer the figure is made again and must be confirmed again."""
    changed = ""
    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.PAYOUT_HOLD,))
        withdrawal = Withdrawal.objects.select_for_update().get(pk=withdrawal_id, user=user)
        if withdrawal.status != Status.AWAITING_CONFIRMATION:
            raise WithdrawalRefused(gettext("This refund is not waiting for your confirmation."))
        _held_check(user)
        figure = payout_figure(
            user=user, kind=Withdrawal.Kind.REFUND, deposited=accounts[Kind.DEPOSITED].balance
        )
        if figure.amount != withdrawal.amount or figure.deposited != withdrawal.deposited:
            if figure.amount <= 0:
                raise WithdrawalRefused(
                    gettext("Your balance changed: there is nothing left to refund.")
                )
            Withdrawal.objects.filter(pk=withdrawal.pk).update(
                deposited=figure.deposited,
                deposit_fees=figure.deposit_fees,
                promo_deducted=figure.promo_deducted,
                amount=figure.amount,
            )
            changed = gettext(
                "Your balance changed; the refund is now %(amount)s. "
                "Please review it and confirm again."
            ) % {"amount": usd_text(figure.amount)}
        else:
            _hold(withdrawal=withdrawal, accounts=accounts, figure=figure)
            withdrawal_transition(withdrawal=withdrawal, new=Status.PENDING, cause="customer")
    if changed:  # the new figure is kept (committed above); the customer confirms it again
        raise WithdrawalRefused(changed)
    return withdrawal
