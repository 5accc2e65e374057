"""split_return is pure: proportions and rounding of R-ORD-7/8, without a database."""

import random
from decimal import Decimal

import pytest

from billing.ledger import Split, split_return
from billing.money import QUANTUM

D = Decimal


def test_proportional_to_what_was_paid():  # R-ORD-7
    paid = Split(promotional=D("3.00"), deposited=D("1.00"))
    assert split_return(amount=D("2.00"), paid=paid, returned=Split()) == Split(
        promotional=D("1.50"), deposited=D("0.50")
    )


def test_whole_charge_returns_exactly_what_was_paid():  # R-ORD-8
    paid = Split(promotional=D("0.33333"), deposited=D("0.66667"))
    assert split_return(amount=paid.total, paid=paid, returned=Split()) == paid


def test_all_promotional_or_all_deposited_stays_so():  # R-ORD-8: never converts sources
    promo_only = Split(promotional=D("5"), deposited=D("0"))
    assert split_return(amount=D("1.23456"), paid=promo_only, returned=Split()) == Split(
        promotional=D("1.23456"), deposited=D("0")
    )
    deposit_only = Split(promotional=D("0"), deposited=D("5"))
    assert split_return(amount=D("0.00001"), paid=deposit_only, returned=Split()) == Split(
        promotional=D("0"), deposited=D("0.00001")
    )


def test_half_a_unit_rounds_half_up_and_the_rest_follows():  # R-ORD-7 rounding
    paid = Split(promotional=D("0.00001"), deposited=D("0.00001"))
    first = split_return(amount=D("0.00001"), paid=paid, returned=Split())
    assert first == Split(promotional=D("0.00001"), deposited=D("0"))
    second = split_return(amount=D("0.00001"), paid=paid, returned=first)
    assert second == Split(promotional=D("0"), deposited=D("0.00001"))


def test_refuses_more_than_is_left():
    paid = Split(promotional=D("1"), deposited=D("1"))
    with pytest.raises(ValueError, match="left"):
        split_return(amount=D("1.5"), paid=paid, returned=Split(deposited=D("0.6")))
    with pytest.raises(ValueError, match="cannot return"):
        split_return(amount=D("-1"), paid=paid, returned=Split())
    with pytest.raises(ValueError, match="precision"):
        split_return(amount=D("0.000001"), paid=paid, returned=Split())
    assert split_return(amount=D("0"), paid=paid, returned=Split()) == Split()


def _random_money(rng: random.Random, top: int) -> Decimal:
    return D(rng.randint(0, top)) * QUANTUM


@pytest.mark.parametrize("seed", range(40))
def test_any_sequence_of_partial_returns_is_exact(seed):  # R-ORD-7, R-ORD-8
    """Random charges returned in random parts: every part sums exactly, stays within what
    each source paid and within one ledger unit of the exact proportion, and returning
    everything left restores what was paid to the last unit."""
    rng = random.Random(seed)
    paid = Split(promotional=_random_money(rng, 500_000), deposited=_random_money(rng, 500_000))
    if paid.total == 0:
        paid = Split(promotional=D("0.00001"), deposited=D("0.00002"))
    returned = Split()
    while paid.total - returned.total > 0:
        left = paid.total - returned.total
        if rng.random() < 0.2:
            amount = left  # return everything that is left
        else:
            amount = min(left, max(QUANTUM, _random_money(rng, int(left / QUANTUM))))
        back = split_return(amount=amount, paid=paid, returned=returned)
        assert back.total == amount
        exact = amount * paid.promotional / paid.total
        assert abs(back.promotional - exact) <= QUANTUM
        returned = returned + back
        assert returned.promotional <= paid.promotional
        assert returned.deposited <= paid.deposited
    assert returned == paid


def test_split_spend_takes_promotional_first_or_last_by_setting():  # R-BAL-4
    from billing.ledger import split_spend

    available = Split(promotional=Decimal("1.00"), deposited=Decimal("5.00"))
    first = split_spend(amount=Decimal("2.50"), available=available)
    assert (first.promotional, first.deposited) == (Decimal("1.00"), Decimal("1.50"))
    last = split_spend(amount=Decimal("2.50"), available=available, promotional_first=False)
    assert (last.promotional, last.deposited) == (Decimal("0"), Decimal("2.50"))
    tight = split_spend(amount=Decimal("5.50"), available=available, promotional_first=False)
    assert (tight.promotional, tight.deposited) == (Decimal("0.50"), Decimal("5.00"))
