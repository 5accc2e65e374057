"""Value types of the ledger contract, and the pure arithmetic of returns (R-ORD-7/8).

``Split`` says how much of an amount is Promotional Credit and how much Deposited
Funds; ``funds_spend`` returns one, the Orders app stores it on the order (R-BAL-4),
and ``split_return`` divides a later return between the same sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from .money import ZERO, quantize

if TYPE_CHECKING:
    from .models import Transaction


@dataclass(frozen=True)
class Split:
    promotional: Decimal = ZERO
    deposited: Decimal = ZERO

    def __post_init__(self):
        for name in ("promotional", "deposited"):
            value = getattr(self, name)
            if not isinstance(value, Decimal):
                raise TypeError(f"Split.{name} must be Decimal, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"Split.{name} cannot be negative: {value}")
            if value != quantize(value):
                raise ValueError(f"Split.{name} has more than the ledger's precision: {value}")

    @property
    def total(self) -> Decimal:
        return self.promotional + self.deposited

    def __add__(self, other: Split) -> Split:
        return Split(
            promotional=self.promotional + other.promotional,
            deposited=self.deposited + other.deposited,
        )


@dataclass(frozen=True)
class Spend:
    """What ``funds_spend`` did: the split by funding source and its ledger transaction."""

    split: Split
    transaction: Transaction


def split_spend(*, amount: Decimal, available: Split, promotional_first: bool = True) -> Split:
    """How a spend of ``amount`` is taken from the balance (R-BAL-4): Promotional Credit
    first, then Deposited Funds (or the reverse, a setting). The caller has checked that
    ``available`` covers ``amount``."""
    if promotional_first:
        from_promotional = min(available.promotional, amount)
        return Split(promotional=from_promotional, deposited=amount - from_promotional)
    from_deposited = min(available.deposited, amount)
    return Split(promotional=amount - from_deposited, deposited=from_deposited)


def split_return(*, amount: Decimal, paid: Split, returned: Split) -> Split:
    """The part of ``amount`` that goes back to each funding source (R-ORD-7, R-ORD-8).

    ``paid`` is the split of the original charge, ``returned`` what has already been
    returned of it. Returns go to the same sources in the proportions they were paid
    from; Promotional Credit never becomes Deposited Funds. Rounding never creates or
    loses money: the two parts always sum to ``amount``, no source gets back more than
    it paid, and the cumulative target is rounded (not each return), so returning
    everything that is left always restores ``paid`` exactly.
    """
    if not isinstance(amount, Decimal):
        raise TypeError("amount must be Decimal")
    if amount != quantize(amount):
        raise ValueError(f"amount has more than the ledger's precision: {amount}")
    if returned.promotional > paid.promotional or returned.deposited > paid.deposited:
        raise ValueError("returned exceeds paid")
    left = paid.total - returned.total
    if amount < 0 or amount > left:
        raise ValueError(f"cannot return {amount}: {left} of the charge is left to return")
    if amount == 0:
        return Split()

    cumulative = returned.total + amount
    target = quantize(cumulative * paid.promotional / paid.total)
    # Keep each source within what it paid and what it has already got back.
    low = max(returned.promotional, cumulative - paid.deposited)
    high = min(paid.promotional, cumulative - returned.deposited)
    target = min(max(target, low), high)
    promotional = target - returned.promotional
    return Split(promotional=promotional, deposited=amount - promotional)
