from django.utils.translation import gettext_lazy as _

from smmpanel.exceptions import DomainError


class LinkRejected(DomainError):  # noqa: N818 - named for the domain
    """This link does not fit the service."""

    default_message = _("This link does not fit the service.")

    api_error = "Incorrect link"  # API v2 wording


class ProviderUnavailable(DomainError):  # noqa: N818 - named for the domain
    """The provider did not answer usefully; try again later."""


class InvalidCatalogChange(DomainError):  # noqa: N818 - named for the domain
    """This change to the catalog is not allowed."""
