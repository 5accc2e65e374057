"""Refusals of the support app, each with a message fit to show."""

from django.utils.translation import gettext_lazy as _

from smmpanel.exceptions import DomainError


class SupportRefused(DomainError):  # noqa: N818 - named for the domain
    """This cannot be done."""

    default_message = _("This cannot be done.")

    field: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None):
        super().__init__(message)
        if field is not None:
            self.field = field


class ImageRefused(SupportRefused):
    """This file is not an image we accept."""

    default_message = _("This file is not an image we accept.")

    field = "screenshots"


class OrderIdsRefused(SupportRefused):
    """Some order ids are not yours."""

    default_message = _("Some order ids are not yours.")

    field = "order_ids"


class ClaimRefused(SupportRefused):
    """R-ORD-14, R-WDR-6: the claim window of an order is closed."""

    default_message = _("The claim window of an order is closed.")

    field = "order_ids"


class InvalidTicketTransition(SupportRefused):
    """The ticket cannot move to that status."""

    default_message = _("The ticket cannot move to that status.")
