"""Demo money for the demo customer, through the services; runs once however often called."""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.demo import DEMO_CUSTOMER

from .models import Deposit, PromoCode
from .selectors import balance_get
from .services import deposit_manual_create, promo_credit_grant
from .templatetags.billing_tags import usd

DEMO_DEPOSIT_MEMO = "Demo top-up"


def seed(stdout) -> None:
    promo, _ = PromoCode.objects.get_or_create(
        code="WELCOME10",
        defaults={
            "description": "10 % bonus on a deposit of $10.00 or more",
            "kind": PromoCode.Kind.PERCENT,
            "value": Decimal("10"),
            "max_bonus": Decimal("50"),
            "min_deposit": Decimal("10"),
            "valid_from": timezone.now() - timedelta(days=1),
            "max_uses_per_account": 1,
        },
    )
    customer = get_user_model().objects.filter(username=DEMO_CUSTOMER[0]).first()
    if customer is None:
        return
    if not Deposit.objects.filter(user=customer, memo=DEMO_DEPOSIT_MEMO).exists():
        deposit_manual_create(user=customer, amount=Decimal("50.00"), memo=DEMO_DEPOSIT_MEMO)
    promo_credit_grant(
        user=customer,
        amount=Decimal("5.00"),
        memo="Promotional credit: demo welcome credit",
        idempotency_key="demo:welcome-credit",
    )
    balance = balance_get(user=customer)
    stdout.write(
        f"  balance of {customer.username}: {usd(balance.deposited)} deposited, "
        f"{usd(balance.promotional)} promotional; promo code {promo.code}"
    )
