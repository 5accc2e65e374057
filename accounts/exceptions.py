from smmpanel.exceptions import DomainError


class AccountStatusRefused(DomainError):  # noqa: N818 - named for the domain
    """That change of the account's status is not possible."""
