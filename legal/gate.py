"""May this customer order now? One answer for the web pages and the API.

``ordering_refusal`` says why not, or None: the Terms to accept first (R-LEG-2), a
restricted region (R-AUP-3), an account on hold (R-AUP-2), a balance frozen by dormancy
(R-DOR-2). The web answers with a page
(``legal.middleware.ComplianceMiddleware``), the API with the stable error strings below,
which the API page documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from accounts.geo import country_restricted, ip_country

TERMS_API_ERROR = "You must accept the new Terms of Service before ordering"
REGION_API_ERROR = "Orders from your region are not accepted"
HOLD_API_ERROR = "Your account is under review; ordering is paused"
FROZEN_API_ERROR = "Invalid API key"  # R-KEY-3: a frozen account's key is refused anyway


@dataclass(frozen=True)
class Refusal:
    kind: str  # "terms", "region", "hold", "frozen"
    message: str  # for people
    api_message: str  # API v2 error string


def region_refusal(*, ip: str | None, signup: bool = False) -> Refusal | None:
    """Orders (or, with ``signup``, sign-ups) from a restricted region (R-AUP-3)."""
    country = ip_country(ip)
    if not country_restricted(country):
        return None
    if signup:
        message = gettext(
            "Sign-ups from your region (%(country)s) are not accepted under our Acceptable "
            "Use Policy."
        )
    else:
        message = gettext(
            "Orders from your region (%(country)s) are not accepted under our Acceptable Use "
            "Policy."
        )
    return Refusal(
        kind="region", message=message % {"country": country}, api_message=REGION_API_ERROR
    )


def _account_refusal(*, user) -> Refusal | None:
    from billing.selectors import balance_frozen
    from legal.selectors import account_held

    if account_held(user=user):
        return Refusal(
            kind="hold",
            message=gettext(
                "Your account is under review; ordering is paused until staff finish it."
            ),
            api_message=HOLD_API_ERROR,
        )
    if balance_frozen(user=user):  # R-DOR-2: until the customer asks to restore it
        return Refusal(
            kind="frozen",
            message=gettext(
                "Your balance is frozen after a long inactivity; ask us to restore it before "
                "ordering."
            ),
            api_message=FROZEN_API_ERROR,
        )
    return None


def ordering_refusal(*, user, ip: str | None, by_api_key: bool = False) -> Refusal | None:
    """Why ``user``, calling from ``ip``, may not place an order now; None if they may.

    ``by_api_key``: the user came from ``accounts.selectors.api_key_user``, which already
    refuses a held or frozen account (R-KEY-3), its cache bumped by every hold and freeze;
    only the region and the Terms are left to ask.
    """
    from legal.selectors import terms_acceptance_due

    refusal = region_refusal(ip=ip) or (None if by_api_key else _account_refusal(user=user))
    if refusal is not None:
        return refusal
    if terms_acceptance_due(user=user) is not None:
        return Refusal(
            kind="terms",
            message=gettext(
                "Our Terms of Service changed: accept the new version before ordering."
            ),
            api_message=TERMS_API_ERROR,
        )
    return None
