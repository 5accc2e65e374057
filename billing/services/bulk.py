"""Many spends of one customer in one go (Mass Order), posted exactly as ``funds_spend`` would.

Added by the orders app for Mass Order's 1,000 lines (one lock and a handful of queries
instead of several per line). Each charge is still its own balanced ledger transaction
referencing its own order, so returns (``funds_return``) work per order as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from billing.ledger import Spend, Split, split_spend
from billing.models import Account, Entry, Transaction, TransactionReason
from billing.money import ZERO

from .ledger import (
    _activity_touch,
    _customer_accounts_locked,
    _money,
    _move_balance,
    _system_account,
    _withdrawals_yield_to_spend,
)

Kind = Account.Kind


@dataclass(frozen=True)
class Charge:
    amount: Decimal
    memo: str
    ref_id: str | int


def funds_spend_many(*, user, charges: Sequence[Charge], ref_kind: str) -> list[Spend | None]:
    """Charge ``charges`` in order, each as its own spend (R-BAL-4: Promotional Credit first).

    A charge the balance cannot cover when its turn comes is skipped (``None``) and later
    ones may still fit, exactly as if ``funds_spend`` were called for each in turn and the
    refused ones caught ``InsufficientFunds``. Nothing is spent while money is owed (R-BAL-5).
    """
    amounts = [_money(charge.amount) for charge in charges]
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        promotional, deposited = accounts[Kind.PROMOTIONAL], accounts[Kind.DEPOSITED]
        if accounts[Kind.OWED].balance > 0:
            return [None] * len(charges)
        _withdrawals_yield_to_spend(user=user, accounts=accounts, amounts=amounts)  # R-WDR-4
        _activity_touch(user)  # R-DOR-1
        promo_left, deposit_left = promotional.balance, deposited.balance
        plans: list[tuple[Charge, Decimal, Decimal, Decimal, Decimal, Decimal] | None] = []
        for charge, amount in zip(charges, amounts, strict=True):
            if promo_left + deposit_left < amount:
                plans.append(None)
                continue
            split = split_spend(
                amount=amount,
                available=Split(promotional=promo_left, deposited=deposit_left),
                promotional_first=settings.BILLING_SPEND_PROMOTIONAL_FIRST,
            )
            from_promo, from_deposit = split.promotional, split.deposited
            promo_left -= from_promo
            deposit_left -= from_deposit
            plans.append((charge, amount, from_promo, from_deposit, promo_left, deposit_left))

        planned = [plan for plan in plans if plan is not None]
        if not planned:
            return [None] * len(charges)
        sales = _system_account(Kind.SALES)
        transactions = Transaction.objects.bulk_create(
            [
                Transaction(
                    user=user,
                    reason=TransactionReason.SPEND,
                    memo=charge.memo.strip()[:255],
                    ref_kind=ref_kind,
                    ref_id=str(charge.ref_id),
                )
                for charge, *_ in planned
            ]
        )
        entries = []
        for txn, (_, amount, from_promo, from_deposit, promo_after, deposit_after) in zip(
            transactions, planned, strict=True
        ):
            if from_promo:
                entries.append(Entry(transaction=txn, account=promotional, amount=-from_promo,
                                     balance_after=promo_after))  # fmt: skip
            if from_deposit:
                entries.append(Entry(transaction=txn, account=deposited, amount=-from_deposit,
                                     balance_after=deposit_after))  # fmt: skip
            entries.append(Entry(transaction=txn, account=sales, amount=amount))
        Entry.objects.bulk_create(entries)
        total_promo = sum((plan[2] for plan in planned), ZERO)
        total_deposit = sum((plan[3] for plan in planned), ZERO)
        if total_promo:
            _move_balance(promotional, -total_promo)
        if total_deposit:
            _move_balance(deposited, -total_deposit)

    spends = iter(
        Spend(split=Split(promotional=plan[2], deposited=plan[3]), transaction=txn)
        for txn, plan in zip(transactions, planned, strict=True)
    )
    return [next(spends) if plan is not None else None for plan in plans]
