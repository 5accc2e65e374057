from smmpanel.exceptions import DomainError


class PublishRefused(DomainError):  # noqa: N818 - named for the domain
    """That document cannot be published (already published, or incomplete)."""


class HoldRefused(DomainError):  # noqa: N818 - named for the domain
    """That hold cannot be placed or moved."""
