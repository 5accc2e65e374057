"""Test factories and helpers for billing; money is always put in through the services."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import PromoCode
from billing.services import deposit_credit, promo_credit_grant


class PromoCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PromoCode

    code = factory.Sequence(lambda n: f"PROMO{n}")
    kind = PromoCode.Kind.PERCENT
    value = Decimal("10")
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))


def fund(user, *, deposited: str = "0", promotional: str = "0") -> None:
    """Give ``user`` Deposited Funds (a manual deposit) and Promotional Credit (a grant)."""
    if Decimal(deposited):
        deposit_credit(user=user, amount=Decimal(deposited), manual=True, memo="test deposit")
    if Decimal(promotional):
        promo_credit_grant(user=user, amount=Decimal(promotional), memo="test credit")
