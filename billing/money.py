"""The one place that defines how money is stored and rounded (R-BAL-1).

Amounts are USD ``Decimal`` with 5 decimal places, the precision of the ledger and
of the API's money strings ("0.27819"). Never ``float`` on a money path.
"""

from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db import models

PLACES = 5
QUANTUM = Decimal(1).scaleb(-PLACES)  # Decimal("0.00001")
ZERO = Decimal("0.00000")

MoneyField = partial(models.DecimalField, max_digits=20, decimal_places=PLACES)


def quantize(amount: Decimal) -> Decimal:
    """Round to the ledger's precision, half up (R-ORD-2)."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"money must be Decimal, not {type(amount).__name__}")
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_UP)


# Half the ledger's last place. Amounts have 5 places, so on Postgres (numeric) a difference
# is 0 or at least 0.00001; SQLite (make run's default) stores floats, off in the last bit.
HALF_PLACE = Decimal("0.000005")


def money_str(amount: Decimal) -> str:
    """The API's money string: all ledger places ("0.90000" stays exact)."""
    return str(quantize(amount))


def money_text(amount: Decimal) -> str:
    """Money for people and the API: whole cents as "12.50", other amounts to the ledger's
    places without padding ("0.27819", "4.032")."""
    exact = quantize(amount)
    cents = exact.quantize(Decimal("0.01"))
    return f"{cents}" if exact == cents else f"{exact.normalize():f}"


MINUS = "\u2212"  # the minus sign people read; the API keeps ASCII "-"


def usd_text(amount: Decimal | int | str) -> str:
    """THE display rule for people, on every page, CSV and mail (issue 14): "$12.50" for
    whole cents, the ledger's places without trailing zeros otherwise ("$0.315",
    "$27.0142"), thousands grouped ("$1,250.00"), negatives with U+2212 ("\u2212$0.06").
    Rates per 1,000 follow the same rule."""
    exact = quantize(Decimal(amount))
    sign = MINUS if exact < 0 else ""
    whole, _, fraction = money_text(abs(exact)).partition(".")
    return f"{sign}${int(whole):,}.{fraction}"


def currency_text(amount: Decimal | int | str, currency: str) -> str:
    """An amount in a provider's currency: USD by the display rule ("$321.50"), another
    currency to the cent or its places with its code ("321.50 EUR")."""
    if currency.upper() == "USD":
        return usd_text(amount)
    return f"{money_text(Decimal(str(amount)))} {currency}"


def usd_change(amount: Decimal | int | str) -> str:
    """A movement: "+$5.00" / "\u2212$1.20"; empty for none."""
    exact = quantize(Decimal(amount))
    if exact == 0:
        return ""
    return ("+" if exact > 0 else "") + usd_text(exact)
