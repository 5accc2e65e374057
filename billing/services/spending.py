"""Spending the customer's balance: one routine for one order and for Mass Order's many.

A spend is decided, then posted. ``spends_plan`` locks the customer's accounts and decides,
from the locked balances, which charges the balance covers and how each is split between
Promotional Credit and Deposited Funds (R-BAL-4). Its caller can then write its orders with
their split already known (one INSERT each, never an INSERT then an UPDATE) and post the plan
in the same transaction: one balanced ledger transaction per charge, each referencing its own
order so that returns (``funds_return``) work per order, all written together (one INSERT of
the transactions, one of their entries, one conditional UPDATE per source balance).

``funds_spend`` (one charge, refused with ``InsufficientFunds``) and ``funds_spend_many``
(several, an uncovered one skipped) are that plan and post in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction

from billing.exceptions import InsufficientFunds, LedgerError
from billing.ledger import Spend, Split, split_spend
from billing.models import Account, Entry, Transaction, TransactionReason
from billing.money import ZERO

from .ledger import (
    _activity_touch,
    _already_posted,
    _customer_accounts_locked,
    _money,
    _move_balance,
    _system_account,
)

if TYPE_CHECKING:
    from accounts.models import User

Kind = Account.Kind


@dataclass(frozen=True)
class Charge:
    """One spend to post: its amount, the memo of its ledger transaction, its reference."""

    amount: Decimal
    memo: str
    ref_id: str | int


@dataclass
class SpendPlan:
    """What ``spends_plan`` decided under the customer's locks: a split for each amount asked,
    or ``None`` where the balance did not cover it."""

    user: User
    accounts: dict[str, Account]
    splits: list[Split | None]

    @property
    def available(self) -> Decimal:
        if self.accounts[Kind.OWED].balance > 0:
            return ZERO
        return self.accounts[Kind.PROMOTIONAL].balance + self.accounts[Kind.DEPOSITED].balance

    @property
    def covered(self) -> list[Split]:
        return [split for split in self.splits if split is not None]

    def post(
        self, *, charges: Sequence[Charge], ref_kind: str, idempotency_key: str | None = None
    ) -> list[Spend]:
        """Write the planned spends: ``charges`` are the covered ones, in the order their
        amounts were planned (what ``covered`` lists)."""
        covered = self.covered
        if len(charges) != len(covered):
            raise LedgerError("a plan is posted with one charge per covered amount")
        for charge, split in zip(charges, covered, strict=True):
            if _money(charge.amount) != split.total:
                raise LedgerError(f"charge {charge.amount} posted for a plan of {split.total}")
        if idempotency_key and len(covered) != 1:
            raise LedgerError("an idempotency key names one spend")
        if not covered:
            return []
        transactions = self._write(charges, covered, ref_kind, idempotency_key)
        return [
            Spend(split=split, transaction=txn)
            for split, txn in zip(covered, transactions, strict=True)
        ]

    def _write(
        self, charges: Sequence[Charge], splits: list[Split], ref_kind: str, key: str | None
    ) -> list[Transaction]:
        promotional, deposited = self.accounts[Kind.PROMOTIONAL], self.accounts[Kind.DEPOSITED]
        transactions = Transaction.objects.bulk_create(
            [
                Transaction(
                    user=self.user,
                    reason=TransactionReason.SPEND,
                    memo=charge.memo.strip()[:255],
                    ref_kind=ref_kind,
                    ref_id=str(charge.ref_id),
                    idempotency_key=key or None,
                )
                for charge in charges
            ]
        )
        sales = _system_account(Kind.SALES)
        after: dict[str, Decimal] = {
            Kind.PROMOTIONAL: promotional.balance,
            Kind.DEPOSITED: deposited.balance,
        }
        entries = []
        for txn, split in zip(transactions, splits, strict=True):
            for account, taken in ((promotional, split.promotional), (deposited, split.deposited)):
                if taken:
                    after[account.kind] -= taken
                    entries.append(Entry(transaction=txn, account=account, amount=-taken,
                                         balance_after=after[account.kind]))  # fmt: skip
            entries.append(Entry(transaction=txn, account=sales, amount=split.total))
        Entry.objects.bulk_create(entries)
        # One conditional UPDATE per source (never below zero, R-BAL-5), to the running
        # balances the entries above end with.
        for account in (promotional, deposited):
            if after[account.kind] != account.balance:
                _move_balance(account, after[account.kind] - account.balance)
        return transactions


def spends_plan(*, user, amounts: Sequence[Decimal]) -> SpendPlan:
    """Lock ``user``'s accounts and decide each spend of ``amounts``, in order (R-BAL-4).

    Call inside ``transaction.atomic()`` and post the plan in the same block. An amount the
    balance cannot cover when its turn comes is not planned (``None``) and later ones may
    still fit. Nothing is planned while money is owed (R-BAL-5). When the spends need
    Deposited Funds, the pending withdrawals are canceled first (R-WDR-4).
    """
    if not connection.in_atomic_block:
        raise LedgerError("plan and post spends inside one transaction.atomic()")
    amounts = [_money(amount) for amount in amounts]
    accounts = _customer_accounts_locked(user)
    if accounts[Kind.OWED].balance > 0:
        return SpendPlan(user=user, accounts=accounts, splits=[None] * len(amounts))
    releasable = _withdrawals_releasable(user=user, accounts=accounts)
    splits = _splits_of(amounts, accounts, extra_deposited=releasable)
    if releasable and any(split is not None and split.deposited > 0 for split in splits):
        # R-WDR-4: a spend really paid from Deposited Funds cancels the pending withdrawals;
        # their holds are back in Deposited Funds, so the split is decided again from there.
        from .withdrawals import withdrawals_cancel_for_spend

        withdrawals_cancel_for_spend(user=user, accounts=accounts)
        splits = _splits_of(amounts, accounts)
    if any(split is not None for split in splits):
        _activity_touch(user)  # R-DOR-1: an order counts as activity
    return SpendPlan(user=user, accounts=accounts, splits=splits)


def _splits_of(
    amounts: Sequence[Decimal], accounts: dict[str, Account], extra_deposited: Decimal = ZERO
) -> list[Split | None]:
    """Each amount's split from the balances, in order; ``None`` where it is not covered."""
    promo_left = accounts[Kind.PROMOTIONAL].balance
    deposit_left = accounts[Kind.DEPOSITED].balance + extra_deposited
    splits: list[Split | None] = []
    for amount in amounts:
        if promo_left + deposit_left < amount:
            splits.append(None)
            continue
        split = split_spend(
            amount=amount,
            available=Split(promotional=promo_left, deposited=deposit_left),
            promotional_first=settings.BILLING_SPEND_PROMOTIONAL_FIRST,
        )
        promo_left -= split.promotional
        deposit_left -= split.deposited
        splits.append(split)
    return splits


def _withdrawals_releasable(*, user, accounts: dict[str, Account]) -> Decimal:
    """What the pending withdrawals hold (R-WDR-4): it returns to Deposited Funds if a spend
    needs them, so it counts when deciding whether the spends are covered."""
    hold = accounts.get(Kind.PAYOUT_HOLD)
    if hold is None or hold.balance <= 0:
        return ZERO
    from billing.models import Withdrawal

    pending = Withdrawal.objects.filter(user=user, status=Withdrawal.Status.PENDING)
    return sum((w.held for w in pending.only("amount", "deposit_fees")), ZERO)


def funds_spend(
    *,
    user,
    amount: Decimal,
    memo: str,
    ref_kind: str,
    ref_id: str | int,
    idempotency_key: str | None = None,
) -> Spend:
    """Charge the customer's balance: Promotional Credit first, then Deposited Funds (R-BAL-4).

    Raises ``InsufficientFunds`` and changes nothing when the balance cannot cover
    ``amount``, or while the customer owes money (R-BAL-5: spending never makes or
    deepens a negative balance). With an ``idempotency_key`` already used, returns the
    earlier spend.
    """
    amount = _money(amount)
    with transaction.atomic():
        if idempotency_key:  # checked under the customer's locks
            _customer_accounts_locked(user)
            if existing := _already_posted(idempotency_key):
                return Spend(split=_split_of(existing), transaction=existing)
        plan = spends_plan(user=user, amounts=[amount])
        if plan.splits[0] is None:
            raise InsufficientFunds(required=amount, available=plan.available)
        (spend,) = plan.post(
            charges=[Charge(amount, memo, ref_id)],
            ref_kind=ref_kind,
            idempotency_key=idempotency_key,
        )
        return spend


def funds_spend_many(*, user, charges: Sequence[Charge], ref_kind: str) -> list[Spend | None]:
    """Charge ``charges`` in order, each as its own spend (R-BAL-4: Promotional Credit first).

    A charge the balance cannot cover when its turn comes is skipped (``None``) and later
    ones may still fit, exactly as if ``funds_spend`` were called for each in turn and the
    refused ones caught ``InsufficientFunds``. Nothing is spent while money is owed (R-BAL-5).
    """
    with transaction.atomic():
        plan = spends_plan(user=user, amounts=[charge.amount for charge in charges])
        covered = [c for c, split in zip(charges, plan.splits, strict=True) if split is not None]
        spends = iter(plan.post(charges=covered, ref_kind=ref_kind))
    return [next(spends) if split is not None else None for split in plan.splits]


def _split_of(txn: Transaction) -> Split:
    """How much of a spend moved Promotional Credit and Deposited Funds."""
    parts = {Kind.PROMOTIONAL: ZERO, Kind.DEPOSITED: ZERO}
    for entry in txn.entries.select_related("account"):
        if entry.account.kind in parts:
            parts[Kind(entry.account.kind)] += abs(entry.amount)
    return Split(promotional=parts[Kind.PROMOTIONAL], deposited=parts[Kind.DEPOSITED])
