"""The API v2 actions: each takes the account and the request's fields and returns
the answer's payload, or raises ``ApiError`` with the contract's wording
(../shared/spec/API_V2.md). They call the same selectors and services as the web pages."""

from billing.money import money_text as money
from billing.selectors import balance_get
from catalog.selectors import services_for_user

from .transport import ApiError


def services(*, user, params) -> list[dict]:
    """The services the account can order, at its own rates (R-CAT-6)."""
    return [
        {
            "service": service.pk,
            "name": service.name,
            "type": service.type,
            "category": service.category.name,
            "rate": money(service.user_rate),
            "min": str(service.min_quantity),
            "max": str(service.max_quantity),
            "refill": service.refill,  # never on beta services: a CHECK in catalog (R-CAT-5)
            "cancel": service.cancel,
            "dripfeed": service.dripfeed,
            "desc": service.description,
        }
        for service in services_for_user(user=user)
    ]


def balance(*, user, params) -> dict:
    """The account's Balance: both funding sources, less anything owed (R-BAL-2)."""
    return {"balance": money(balance_get(user=user).total), "currency": "USD"}


ACTIONS = {
    "services": services,
    "balance": balance,
}

__all__ = ["ACTIONS", "ApiError"]
