"""Refusals of the orders app: a message for people and the API v2 wording (API_V2.md)."""

from django.utils.translation import gettext_lazy as _

from smmpanel.exceptions import DomainError

INCORRECT_REQUEST = "Incorrect request"
INCORRECT_SERVICE = "Incorrect service ID"
INCORRECT_LINK = "Incorrect link"
NOT_ENOUGH_FUNDS = "Not enough funds on balance"
OVERLAPPING = "You have active order with this link. Please wait until order being completed."
CANNOT_CANCEL = "Order cannot be canceled"


class OrderRefused(DomainError):  # noqa: N818 - named for the domain
    """This order cannot be placed."""

    default_message = _("This order cannot be placed.")

    api_message = INCORRECT_REQUEST
    field: str | None = None  # the form field the message belongs beside, if any

    def __init__(
        self, message: str = "", *, api_message: str | None = None, field: str | None = None
    ):
        super().__init__(message)
        if api_message is not None:
            self.api_message = api_message
        if field is not None:
            self.field = field


class IncorrectRequest(OrderRefused):
    """Some of the order's fields are missing or not valid."""

    default_message = _("Some of the order's fields are missing or not valid.")


class ServiceRefused(OrderRefused):
    """This service is not available."""

    default_message = _("This service is not available.")

    api_message = INCORRECT_SERVICE
    field = "service"


class LinkRefused(OrderRefused):
    """This link cannot be ordered for this service."""

    default_message = _("This link cannot be ordered for this service.")

    api_message = INCORRECT_LINK
    field = "link"


class QuantityRefused(OrderRefused):
    """The quantity is outside the service's limits."""

    default_message = _("The quantity is outside the service's limits.")

    field = "quantity"


class NotEnoughFunds(OrderRefused):
    """Your balance does not cover this order."""

    default_message = _("Your balance does not cover this order.")

    api_message = NOT_ENOUGH_FUNDS


class OverlappingOrder(OrderRefused):
    """You already have an active order of this service on this link."""

    default_message = _("You already have an active order of this service on this link.")

    api_message = OVERLAPPING
    field = "link"


class CancelRefused(OrderRefused):
    """This order cannot be canceled."""

    default_message = _("This order cannot be canceled.")

    api_message = CANNOT_CANCEL


class StaffActionRefused(DomainError):  # noqa: N818 - named for the domain
    """This action does not fit the order's state."""


class InvalidTransition(StaffActionRefused):
    """This order cannot move to that status."""


REFILL_DISABLED = "Refill is disabled for this service"
REFILL_NOT_READY = "The refill task is not completed for this order"
REFILL_NOT_FOUND = "Refill not found"


class RefillRefused(DomainError):  # noqa: N818 - named for the domain
    """This order cannot be refilled now (R-ORD-13): a message for people, the API's wording."""

    default_message = _("This order cannot be refilled now.")

    api_message = REFILL_NOT_READY

    def __init__(self, message: str = "", *, api_message: str | None = None):
        super().__init__(message)
        if api_message is not None:
            self.api_message = api_message


class RefillDisabled(RefillRefused):
    """This order has no refill."""

    default_message = _("This order has no refill.")

    api_message = REFILL_DISABLED
