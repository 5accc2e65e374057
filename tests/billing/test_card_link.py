"""R-ACC-4: two accounts paying with the same card are linked (Stripe's card fingerprint)."""

import json
from decimal import Decimal

import pytest

from accounts.selectors import accounts_linked
from billing import stripe_api
from billing.services import deposit_start, stripe_event_handle
from tests.billing.stripe_helpers import pay, stripe_event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _deposit_paid(user, localstripe, card="pm_card_visa"):
    deposit = deposit_start(user=user, amount=Decimal("10.00"))
    pay(deposit, card=card)
    event = stripe_event(localstripe, deposit.stripe_payment_intent, "payment_intent.succeeded")
    assert "credited" in stripe_event_handle(event=json.loads(event))


def test_the_same_card_links_accounts(stripe_settings, localstripe):  # R-ACC-4
    first, second, other = UserFactory(), UserFactory(), UserFactory()
    _deposit_paid(first, localstripe)
    _deposit_paid(second, localstripe)
    another = stripe_api.client().v1.payment_methods.create(
        params={"type": "card", "card": {"number": "5555555555554444", "exp_month": 12,
                                         "exp_year": 2035, "cvc": "123"}}
    )  # fmt: skip
    _deposit_paid(other, localstripe, card=another.id)
    assert accounts_linked(user=first) == {second.pk}
    assert accounts_linked(user=other) == set()
