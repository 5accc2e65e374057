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
from .models import Account, Deposit, DormancyCase, Entry, Transaction, TransactionReason
from .money import HALF_PLACE, ZERO, quantize

Kind = Account.Kind
_MONEY = DecimalField(max_digits=20, decimal_places=5)


def balance_frozen(*, user) -> bool:
    """Whether the customer's balance is frozen by dormancy (R-DOR-2) until restored."""
    return DormancyCase.objects.filter(user=user, state=DormancyCase.State.FROZEN).exists()


@dataclass(frozen=True)
class BalanceSummary:
    """A customer's Balance: one pool of two funding sources, less what is owed (R-BAL-2)."""

    deposited: Decimal = ZERO
    promotional: Decimal = ZERO
    owed: Decimal = ZERO
    held: Decimal = ZERO  # Pending payout (R-WDR-3), not spendable
    affiliate: Decimal = ZERO  # R-PRO-3
    frozen: Decimal = ZERO  # R-DOR-2

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
        held=balances.get(Kind.PAYOUT_HOLD, ZERO),
        affiliate=balances.get(Kind.AFFILIATE, ZERO),
        frozen=balances.get(Kind.DORMANT, ZERO),
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
        if kind not in accounts:  # an account not made yet (a payout hold) moved nothing
            return Value(ZERO, output_field=_MONEY)
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
            held=change(Kind.PAYOUT_HOLD),
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
        for txn in transactions.filter(
            Q(total__gte=HALF_PLACE) | Q(total__lte=-HALF_PLACE) | Q(legs__lt=2)
        )
        .order_by("pk")
        .iterator()
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
        # quantize: SQLite sums floats (4.4e-16 for a spent credit); Postgres is exact anyway.
        expected = account.sign * quantize(Decimal(account.total))
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


# --- Issue 12: figures of money going out -------------------------------------------------------


@dataclass(frozen=True)
class PayoutFigure:
    """What a withdrawal (R-WDR-3) or a refund to a card (R-WDR-2) would pay, and why."""

    kind: str
    deposited: Decimal  # unused Deposited Funds
    fee_percent: Decimal
    fee: Decimal  # processing fee (withdrawals)
    deposit_fees: Decimal  # the processor's non-refundable deposit fees not yet returned
    promo_deducted: Decimal  # Promotional Credit granted and not yet deducted (refunds)
    refundable: Decimal  # what the original card payments can still take back
    amount: Decimal  # the figure: never below zero, whole cents

    @property
    def leftover(self) -> Decimal:
        """What stays in Deposited Funds (cents the card payments cannot take back)."""
        return self.deposited - self.fee - self.deposit_fees - self.promo_deducted - self.amount

    @property
    def taken(self) -> Decimal:
        """What leaves Deposited Funds when it is confirmed."""
        return self.deposited - self.leftover


def _cents_down(amount: Decimal) -> Decimal:
    from decimal import ROUND_DOWN

    return amount.quantize(Decimal("0.01"), rounding=ROUND_DOWN)


def payout_figure_compute(
    *,
    kind: str,
    deposited: Decimal,
    fee_percent: Decimal,
    deposit_fees: Decimal,
    promo_granted: Decimal,
    refundable: Decimal,
) -> PayoutFigure:
    """Pure arithmetic of R-WDR-2 / R-WDR-3 (figures to the cent, never below zero).

    Withdrawal: unused Deposited Funds - processing fee (``fee_percent`` of them) - unreturned
    deposit fees. Refund to a card: unused Deposited Funds - unreturned deposit fees - all
    Promotional Credit granted and not yet deducted. Never Promotional Credit itself
    (R-PRO-2), never below zero, and never more than the card payments can take back."""

    share = fee_percent / 100 if kind == "withdrawal" else ZERO
    if kind != "withdrawal":
        fee_percent = ZERO
    fee = quantize(deposited * share)
    fees = max(min(deposit_fees, deposited - fee), ZERO)
    promo = max(min(promo_granted, deposited - fees), ZERO) if kind != "withdrawal" else ZERO
    net = deposited - fee - fees - promo
    if net > refundable:
        # The card payments take back less than the formula gives: only that part leaves
        # Deposited Funds, and the fee is the same share of that part alone. What stays in
        # the balance still covers the Promotional Credit, so none is deducted now.
        amount = max(_cents_down(refundable), ZERO)
        promo = ZERO
        fee = quantize((amount + fees) * share / (1 - share))
    else:
        amount = max(_cents_down(net), ZERO)
    if amount == 0:
        fee = fees = promo = ZERO  # nothing is taken when nothing is paid
    return PayoutFigure(
        kind=kind,
        deposited=deposited,
        fee_percent=fee_percent,
        fee=fee,
        deposit_fees=fees,
        promo_deducted=promo,
        refundable=refundable,
        amount=amount,
    )


def deposit_fees_unreturned(*, user) -> Decimal:
    """The processor's fees on the customer's deposits (R-PAY-3) not yet withheld by a
    withdrawal or refund that holds or paid its money."""
    from .models import Withdrawal

    fees = Deposit.objects.filter(user=user, status=Deposit.Status.CREDITED).aggregate(
        total=Coalesce(Sum("fee"), Value(ZERO), output_field=_MONEY)
    )["total"]
    withheld = Withdrawal.objects.filter(
        user=user, status__in=[*Withdrawal.HELD, Withdrawal.Status.PAID]
    ).aggregate(total=Coalesce(Sum("deposit_fees"), Value(ZERO), output_field=_MONEY))["total"]
    return max(fees - withheld, ZERO)


def promo_granted_undeducted(*, user) -> Decimal:
    """All Promotional Credit ever granted to the customer, less what earlier refunds to a
    card already deducted (R-WDR-2)."""
    from .models import Withdrawal

    granted = Entry.objects.filter(
        account__user=user,
        account__kind=Kind.PROMOTIONAL,
        amount__gt=0,
        transaction__reason__in=[TransactionReason.PROMO_GRANT, TransactionReason.PROMO_BONUS],
    ).aggregate(total=Coalesce(Sum("amount"), Value(ZERO), output_field=_MONEY))["total"]
    deducted = Withdrawal.objects.filter(
        user=user, status__in=[*Withdrawal.HELD, Withdrawal.Status.PAID]
    ).aggregate(total=Coalesce(Sum("promo_deducted"), Value(ZERO), output_field=_MONEY))["total"]
    return max(granted - deducted, ZERO)


def refundable_deposits(*, user) -> list[tuple[Deposit, Decimal]]:
    """The customer's card payments that can still be refunded, oldest first, each with what
    is left of it (not refunded, not disputed)."""
    from .models import WithdrawalRefund

    deposits = (
        Deposit.objects.filter(
            user=user,
            method=Deposit.Method.STRIPE,
            status=Deposit.Status.CREDITED,
            stripe_payment_intent__isnull=False,
        )
        .exclude(disputes__isnull=False)
        .order_by("credited_at", "pk")
    )
    refunded = dict(
        WithdrawalRefund.objects.filter(deposit__user=user, succeeded=True)
        .values("deposit")
        .annotate(total=Sum("amount"))
        .values_list("deposit", "total")
    )
    left = [(deposit, deposit.amount - refunded.get(deposit.pk, ZERO)) for deposit in deposits]
    return [(deposit, amount) for deposit, amount in left if amount > 0]


def refundable_total(*, user) -> Decimal:
    """What the card payments can still take back, less what withdrawals already hold."""
    from .models import Withdrawal

    left = sum((amount for _, amount in refundable_deposits(user=user)), ZERO)
    reserved = Withdrawal.objects.filter(user=user, status__in=Withdrawal.HELD).aggregate(
        total=Coalesce(Sum(F("amount") - F("paid_amount")), Value(ZERO), output_field=_MONEY)
    )["total"]
    return max(left - reserved, ZERO)


def payout_figure(*, user, kind: str = "withdrawal", deposited: Decimal | None = None):
    """The figure a customer would get now (R-WDR-2, R-WDR-3); read under the account locks
    by the services, without them by the request page."""
    from django.conf import settings

    if deposited is None:
        deposited = balance_get(user=user).deposited
    return payout_figure_compute(
        kind=kind,
        deposited=deposited,
        fee_percent=min(settings.WITHDRAWAL_FEE_PERCENT, Decimal("10")),  # R-WDR-3: at most 10 %
        deposit_fees=deposit_fees_unreturned(user=user),
        promo_granted=promo_granted_undeducted(user=user) if kind == "refund" else ZERO,
        refundable=refundable_total(user=user),
    )


def withdrawals_for_user(*, user):
    from .models import Withdrawal

    return Withdrawal.objects.filter(user=user).order_by("-pk")


def withdrawal_get_for_user(*, user, withdrawal_id: int):
    """The customer's withdrawal or refund; ``Withdrawal.DoesNotExist`` for anyone else's."""
    from .models import Withdrawal

    return Withdrawal.objects.get(pk=withdrawal_id, user=user)


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
