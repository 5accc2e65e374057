"""Reads of the ledger, deposits and promo codes; ownership is checked in the query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce

from .ledger import Split
from .models import Account, Deposit, Entry, Transaction, TransactionReason
from .money import ZERO

Kind = Account.Kind
_MONEY = DecimalField(max_digits=20, decimal_places=5)


@dataclass(frozen=True)
class BalanceSummary:
    """A customer's Balance: one pool of two funding sources, less what is owed (R-BAL-2)."""

    deposited: Decimal = ZERO
    promotional: Decimal = ZERO
    owed: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.deposited + self.promotional - self.owed

    @property
    def spendable(self) -> Decimal:
        """What an order can be charged now; nothing while money is owed (R-BAL-5)."""
        if self.owed > 0:
            return ZERO
        return self.deposited + self.promotional


def balance_get(*, user) -> BalanceSummary:
    balances = dict(Account.objects.filter(user=user).values_list("kind", "balance"))
    return BalanceSummary(
        deposited=balances.get(Kind.DEPOSITED, ZERO),
        promotional=balances.get(Kind.PROMOTIONAL, ZERO),
        owed=balances.get(Kind.OWED, ZERO),
    )


def spend_unreturned(*, user, ref_kind: str, ref_id: str | int) -> Split:
    """What is left to return of the spends under one reference (an order), per source."""
    rows = (
        Entry.objects.filter(
            account__user=user,
            account__kind__in=[Kind.PROMOTIONAL, Kind.DEPOSITED],
            transaction__user=user,
            transaction__ref_kind=ref_kind,
            transaction__ref_id=str(ref_id),
            transaction__reason__in=[TransactionReason.SPEND, TransactionReason.RETURN],
        )
        .values("account__kind")
        .annotate(net=Sum("amount"))
    )
    # Spends are debits (negative), returns credits: what is left is minus the net.
    left = {row["account__kind"]: -row["net"] for row in rows}
    return Split(
        promotional=max(left.get(Kind.PROMOTIONAL, ZERO), ZERO),
        deposited=max(left.get(Kind.DEPOSITED, ZERO), ZERO),
    )


def history_for_user(
    *,
    user,
    source: str = "",
    reason: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[Transaction]:
    """Every movement of the customer's money, newest first (R-BAL-7).

    Each transaction is annotated with the change of each funding source
    (``deposited``, ``promotional``, ``owed``: positive when it grows) and the
    balances right after it (``balance_after``: Deposited + Promotional - Owed).
    """
    accounts = dict(Account.objects.filter(user=user).values_list("kind", "pk"))
    if not accounts:
        return Transaction.objects.none()

    def change(kind: str):
        total = (
            Entry.objects.filter(transaction=OuterRef("pk"), account_id=accounts[kind])
            .values("transaction")
            .annotate(total=Sum("amount"))
            .values("total")
        )
        return Coalesce(Subquery(total, output_field=_MONEY), Value(ZERO), output_field=_MONEY)

    def after(kind: str):
        latest = (
            Entry.objects.filter(account_id=accounts[kind], transaction_id__lte=OuterRef("pk"))
            .order_by("-transaction_id", "-id")
            .values("balance_after")[:1]
        )
        return Coalesce(Subquery(latest, output_field=_MONEY), Value(ZERO), output_field=_MONEY)

    qs = (
        Transaction.objects.filter(user=user)
        .annotate(
            deposited=change(Kind.DEPOSITED),
            promotional=change(Kind.PROMOTIONAL),
            owed=-change(Kind.OWED),
            deposited_after=after(Kind.DEPOSITED),
            promotional_after=after(Kind.PROMOTIONAL),
            owed_after=after(Kind.OWED),
        )
        .annotate(
            change=F("deposited") + F("promotional") - F("owed"),
            balance_after=F("deposited_after") + F("promotional_after") - F("owed_after"),
        )
        .order_by("-pk")
    )
    if source in accounts:
        qs = qs.filter(
            Exists(Entry.objects.filter(transaction=OuterRef("pk"), account_id=accounts[source]))
        )
    if reason:
        qs = qs.filter(reason=reason)
    if date_from:
        qs = qs.filter(created_at__date__gte=date_from)
    if date_to:
        qs = qs.filter(created_at__date__lte=date_to)
    return qs


def deposits_for_user(*, user) -> QuerySet[Deposit]:
    return Deposit.objects.filter(user=user).select_related("promo_code").order_by("-pk")


def deposit_get_for_user(*, user, deposit_id: int) -> Deposit:
    """The customer's deposit; ``Deposit.DoesNotExist`` for anyone else's (views answer 404)."""
    return Deposit.objects.select_related("promo_code", "redemption").get(pk=deposit_id, user=user)


@dataclass(frozen=True)
class LedgerReport:
    transactions: int
    entries: int
    accounts: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def ledger_verify() -> LedgerReport:
    """Prove the ledger (R-BAL-3): every transaction sums to zero over two or more entries,
    every cached balance equals the sum of its account's entries and its last running
    balance, and none is negative."""
    problems: list[str] = []
    transactions = Transaction.objects.annotate(
        total=Coalesce(Sum("entries__amount"), Value(ZERO), output_field=_MONEY),
        legs=Count("entries"),
    )
    problems.extend(
        f"transaction #{txn.pk} ({txn.reason}, {txn.memo!r}): "
        f"{txn.legs} entries summing to {txn.total}, not zero over two or more"
        for txn in transactions.filter(~Q(total=0) | Q(legs__lt=2)).order_by("pk").iterator()
    )

    last_after = (
        Entry.objects.filter(account=OuterRef("pk"))
        .order_by("-transaction_id", "-id")
        .values("balance_after")[:1]
    )
    customer_accounts = (
        Account.objects.filter(user__isnull=False)
        .annotate(
            total=Coalesce(Sum("entries__amount"), Value(ZERO), output_field=_MONEY),
            last_after=Subquery(last_after, output_field=_MONEY),
        )
        .select_related("user")
        .order_by("pk")
    )
    checked = 0
    for account in customer_accounts.iterator():
        checked += 1
        expected = account.sign * account.total
        label = f"{account.get_kind_display()} of {account.user} (account #{account.pk})"
        if account.balance != expected:
            problems.append(
                f"{label}: cached balance {account.balance} but its entries sum to {expected}"
            )
        if account.last_after is not None and account.last_after != account.balance:
            problems.append(
                f"{label}: cached balance {account.balance} but the last entry left "
                f"{account.last_after}"
            )
        if account.balance < 0:
            problems.append(f"{label}: negative balance {account.balance}")

    return LedgerReport(
        transactions=Transaction.objects.count(),
        entries=Entry.objects.count(),
        accounts=checked,
        problems=problems,
    )


# --- dashboard (issue 14) ---
def spend_since(*, user, since) -> Decimal:
    """What the customer's orders cost them since ``since``: order charges less what was
    returned, from the ledger (both funding sources)."""
    total = Entry.objects.filter(
        account__user=user,
        account__kind__in=[Kind.PROMOTIONAL, Kind.DEPOSITED],
        transaction__user=user,
        transaction__reason__in=[TransactionReason.SPEND, TransactionReason.RETURN],
        transaction__created_at__gte=since,
    ).aggregate(net=Sum("amount"))["net"]
    return -(total or ZERO) + ZERO  # spends are debits (negative)
