"""Ledger services: every movement of money is one balanced, immutable transaction (R-BAL-3).

Each service owns its ``transaction.atomic()``. It first locks the customer's three
accounts (Deposited, Promotional, Owed) in a fixed order (by id) with
``SELECT ... FOR NO KEY UPDATE``, so concurrent movements of one customer queue up and
never deadlock; then it decides the amounts from the locked balances and writes the
transaction. Each debit of a cached balance is also one conditional UPDATE
(``... WHERE balance >= x``), and ``CHECK (balance >= 0)`` is the last line: no request,
however concurrent, overdraws (R-BAL-5). On SQLite ``select_for_update`` is a no-op but
every transaction begins IMMEDIATE (one writer at a time), and the same UPDATE holds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest

from billing.exceptions import InsufficientFunds, LedgerError
from billing.ledger import Split
from billing.models import Account, Entry, RefKind, Transaction, TransactionReason
from billing.money import HALF_PLACE, ZERO, quantize
from smmpanel.readcache import cached

Kind = Account.Kind


def _money(amount: Decimal, *, what: str = "amount", allow_zero: bool = False) -> Decimal:
    if not isinstance(amount, Decimal):
        raise TypeError(f"{what} must be Decimal, not {type(amount).__name__}")
    if amount != quantize(amount):
        raise ValueError(f"{what} has more than the ledger's precision: {amount}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValueError(f"{what} must be positive: {amount}")
    return quantize(amount)


def _customer_accounts_locked(user, extra: tuple[str, ...] = ()) -> dict[str, Account]:
    """The customer's accounts, created on first use, locked in id order.

    Every account the customer has is locked (the three of every customer and any of
    ``Account.EXTRA_CUSTOMER_KINDS`` made before); ``extra`` names further kinds to create
    now (a payout hold, an affiliate balance, frozen funds)."""
    locked = Account.objects.select_for_update(no_key=True).filter(user=user).order_by("pk")
    accounts = {account.kind: account for account in locked}
    wanted = (*Account.CUSTOMER_KINDS, *extra)
    if any(kind not in accounts for kind in wanted):
        Account.objects.bulk_create(
            [
                Account(user=user, kind=kind, balance=ZERO)
                for kind in wanted
                if kind not in accounts
            ],
            ignore_conflicts=True,
        )
        accounts = {account.kind: account for account in locked.all()}
    return accounts


# The read cache's stamp of the panel's own accounts (smmpanel.readcache): rows created once,
# never changed (they carry no cached balance) nor deleted; billing.signals bumps it anyway.
LEDGER_ACCOUNTS_STAMP = "ledger-accounts"


def _system_account(kind: str) -> Account:
    """The panel's account of ``kind``, created on first use; from the read cache after that
    (stored only once the transaction that read or created it has committed)."""
    return cached(LEDGER_ACCOUNTS_STAMP, kind, lambda: _system_account_uncached(kind))


def _system_account_uncached(kind: str) -> Account:
    account, _ = Account.objects.get_or_create(kind=kind, user=None)
    return account


def _already_posted(idempotency_key: str | None) -> Transaction | None:
    # Checked under the customer's account locks; the unique constraint on the key is the
    # backstop should any caller post the same key for two different customers.
    if not idempotency_key:
        return None
    return Transaction.objects.filter(idempotency_key=idempotency_key).first()


def _move_balance(account: Account, delta: Decimal) -> Decimal:
    """Apply ``delta`` to a customer's cached balance; one conditional UPDATE, never below 0.

    Half a place of slack in the condition and a floor at zero change nothing on Postgres
    (numeric, 5 places: exact) but keep SQLite (make run's default), which stores floats,
    from refusing to spend a whole balance left as 0.19999999999999998 for 0.20."""
    updated = Account.objects.filter(pk=account.pk, balance__gte=-delta - HALF_PLACE).update(
        balance=Greatest(F("balance") + delta, Value(ZERO))
    )
    if updated != 1:
        raise InsufficientFunds(required=-delta, available=account.balance)
    account.balance += delta
    return account.balance


def _post(
    *,
    user,
    reason: str,
    memo: str,
    ref_kind: str,
    ref_id: str | int,
    legs: list[tuple[Account, Decimal]],
    actor=None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Write one balanced transaction and move the cached balances with it.

    Call inside an atomic block that holds the locks of ``user``'s accounts. Legs of
    zero are dropped; a credit is positive, a debit negative.
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if len(legs) < 2 or sum(amount for _, amount in legs) != 0:
        raise LedgerError(f"unbalanced transaction: {[(a.kind, str(x)) for a, x in legs]}")
    for account, _ in legs:
        if account.is_customer and account.user_id != user.pk:
            raise LedgerError("a transaction moves the accounts of one customer only")
    if not memo.strip():
        raise LedgerError("a transaction needs a memo")

    txn = Transaction.objects.create(
        user=user,
        reason=reason,
        memo=memo.strip()[:255],
        ref_kind=ref_kind,
        ref_id=str(ref_id),
        actor=actor,
        idempotency_key=idempotency_key or None,
    )
    entries = []
    for account, amount in legs:
        balance_after = None
        if account.is_customer:
            balance_after = _move_balance(account, account.sign * amount)
        entries.append(
            Entry(transaction=txn, account=account, amount=amount, balance_after=balance_after)
        )
    Entry.objects.bulk_create(entries)
    return txn


def deposit_credit(
    *,
    user,
    amount: Decimal,
    fee: Decimal = ZERO,
    manual: bool = False,
    memo: str,
    ref_kind: str = RefKind.DEPOSIT,
    ref_id: str | int = "",
    actor=None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Credit money the customer paid in (R-BAL-2).

    What the customer owes after a reversal is paid off first (R-BAL-6); the rest becomes
    Deposited Funds. The processor's fee is booked as an expense (R-PAY-3): the panel
    receives ``amount - fee``, the customer is credited ``amount``. ``manual`` books an
    operator's top-up (bank transfer) instead of a card payment.
    """
    amount = _money(amount)
    fee = _money(fee, what="fee", allow_zero=True)
    if fee > amount:
        raise ValueError("the fee cannot exceed the deposit")
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        if existing := _already_posted(idempotency_key):
            return existing
        owed = accounts[Kind.OWED]
        pay_off = min(owed.balance, amount)
        _activity_touch(user)  # R-DOR-1: a deposit counts as activity
        received = _system_account(Kind.BANK if manual else Kind.PROCESSOR_CLEARING)
        return _post(
            user=user,
            reason=TransactionReason.DEPOSIT,
            memo=memo,
            ref_kind=ref_kind,
            ref_id=ref_id,
            actor=actor,
            idempotency_key=idempotency_key,
            legs=[
                (received, -(amount - fee)),
                (_system_account(Kind.PROCESSOR_FEES), -fee),
                (owed, pay_off),
                (accounts[Kind.DEPOSITED], amount - pay_off),
            ],
        )


def promo_credit_grant(
    *,
    user,
    amount: Decimal,
    memo: str,
    reason: str = TransactionReason.PROMO_GRANT,
    ref_kind: str = RefKind.STAFF,
    ref_id: str | int = "",
    actor=None,
    idempotency_key: str | None = None,
) -> Transaction:
    """Grant Promotional Credit (R-BAL-2): a bonus, promo code, test credit or staff grant.

    It has no cash value (R-PRO-2): it is spent but never withdrawn or refunded.
    """
    amount = _money(amount)
    if reason not in (TransactionReason.PROMO_GRANT, TransactionReason.PROMO_BONUS):
        raise LedgerError(f"not a reason for promotional credit: {reason}")
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        if existing := _already_posted(idempotency_key):
            return existing
        return _post(
            user=user,
            reason=reason,
            memo=memo,
            ref_kind=ref_kind,
            ref_id=ref_id,
            actor=actor,
            idempotency_key=idempotency_key,
            legs=[
                (_system_account(Kind.PROMOTIONS_EXPENSE), -amount),
                (accounts[Kind.PROMOTIONAL], amount),
            ],
        )


def _activity_touch(user) -> None:
    from accounts.services import user_activity_touch

    user_activity_touch(user=user)


def _unreturned(*, user, ref_kind: str, ref_id: str) -> Split:
    from billing.selectors import spend_unreturned

    return spend_unreturned(user=user, ref_kind=ref_kind, ref_id=ref_id)


def funds_return(
    *,
    user,
    split: Split,
    memo: str,
    ref_kind: str,
    ref_id: str | int,
    idempotency_key: str | None = None,
) -> Transaction:
    """Give back (part of) a spend to the sources it came from (R-ORD-7, R-ORD-8).

    ``split`` is usually ``split_return(...)``'s answer. Refuses (``LedgerError``) to
    return to a source more than was spent from it under the same reference.
    """
    if not isinstance(split, Split) or split.total <= 0:
        raise LedgerError("a return needs a positive split")
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        if existing := _already_posted(idempotency_key):
            return existing
        left = _unreturned(user=user, ref_kind=ref_kind, ref_id=str(ref_id))
        if split.promotional > left.promotional or split.deposited > left.deposited:
            raise LedgerError(f"return {split} exceeds what is left of {ref_kind} {ref_id}: {left}")
        return _post(
            user=user,
            reason=TransactionReason.RETURN,
            memo=memo,
            ref_kind=ref_kind,
            ref_id=ref_id,
            idempotency_key=idempotency_key,
            legs=[
                (_system_account(Kind.SALES), -split.total),
                (accounts[Kind.PROMOTIONAL], split.promotional),
                (accounts[Kind.DEPOSITED], split.deposited),
            ],
        )


def staff_adjust(
    *,
    user,
    source: str,
    amount: Decimal,
    reason: str,
    actor,
) -> Transaction:
    """A staff correction of Deposited Funds or Promotional Credit, with a stated reason.

    A positive ``amount`` credits the source. A negative one takes what the source
    holds; whatever it cannot cover becomes Owed (R-BAL-5: a correction is one of the
    ways a balance can go negative), recovered from the next deposits (R-BAL-6).
    """
    if source not in (Kind.DEPOSITED, Kind.PROMOTIONAL):
        raise LedgerError(f"cannot adjust {source}")
    if not isinstance(amount, Decimal) or amount == 0:
        raise ValueError("an adjustment needs a non-zero Decimal amount")
    _money(abs(amount))
    if not reason.strip():
        raise ValueError("an adjustment needs a reason")
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        target = accounts[source]
        counter = _system_account(
            Kind.ADJUSTMENTS if source == Kind.DEPOSITED else Kind.PROMOTIONS_EXPENSE
        )
        if amount > 0:
            legs = [(target, amount), (counter, -amount)]
        else:
            taken = min(target.balance, -amount)
            legs = [(target, -taken), (accounts[Kind.OWED], -(-amount - taken)), (counter, -amount)]
        return _post(
            user=user,
            reason=TransactionReason.ADJUSTMENT,
            memo=f"{Kind(source).label} adjustment: {reason.strip()}",
            ref_kind=RefKind.STAFF,
            ref_id=actor.pk if actor else "",
            actor=actor,
            legs=legs,
        )
