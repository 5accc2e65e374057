from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from smmpanel.exceptions import DomainError


class InsufficientFunds(DomainError):  # noqa: N818 (the contract's names)
    """Not enough funds on balance."""

    default_message = _("Not enough funds on balance.")

    def __init__(self, *, required: Decimal, available: Decimal, message: str = ""):
        self.required = required
        self.available = available
        super().__init__(message)


class PromoCodeRefused(DomainError):  # noqa: N818 (the contract's names)
    """This promo code cannot be used."""

    default_message = _("This promo code cannot be used.")


class DepositRefused(DomainError):  # noqa: N818 (the contract's names)
    """This deposit cannot be made."""

    default_message = _("This deposit cannot be made.")


class PaymentFailed(DomainError):  # noqa: N818 (the contract's names)
    """The payment did not go through."""

    default_message = _("The payment did not go through.")


class LedgerError(ValueError):
    """A programming error against the ledger's rules (unbalanced, over-returned...).

    Not a ``DomainError``: no customer action causes it, so it is never shown to one.
    """


class WithdrawalRefused(DomainError):  # noqa: N818 (the contract's names)
    """This withdrawal or refund cannot be made."""

    default_message = _("This withdrawal or refund cannot be made.")


class DisputeError(DomainError):
    """The dispute cannot be handled."""


class AffiliateRefused(DomainError):  # noqa: N818
    """This affiliate action cannot be made."""

    default_message = _("This affiliate action cannot be made.")


class DormancyRefused(DomainError):  # noqa: N818
    """This dormancy action cannot be made."""

    default_message = _("This dormancy action cannot be made.")


class ClosureRefused(DomainError):  # noqa: N818
    """The account cannot be closed now."""

    default_message = _("The account cannot be closed now.")
