"""The panel's one door to Stripe: a client built from the settings, and cents <-> USD.

Tests point ``STRIPE_API_BASE`` at localstripe; every call has a timeout.
"""

from decimal import Decimal

import stripe
from django.conf import settings

from .money import quantize


def cards_enabled() -> bool:
    return bool(
        settings.STRIPE_SECRET_KEY
        and settings.STRIPE_PUBLISHABLE_KEY
        and settings.STRIPE_WEBHOOK_SECRET
    )


def client() -> stripe.StripeClient:
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY,
        base_addresses={"api": settings.STRIPE_API_BASE},
        http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT),
        max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
    )


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} is not a whole number of cents")
    return int(cents)


def from_cents(cents: int) -> Decimal:
    return quantize(Decimal(int(cents)) / 100)
