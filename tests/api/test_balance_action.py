from decimal import Decimal

import pytest

from billing.services import deposit_credit, funds_spend, promo_credit_grant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("transport", ["form", "json", "get"])
def test_balance_is_both_funding_sources_as_a_string(call, api_user, api_key, transport):
    deposit_credit(user=api_user, amount=Decimal("100.00000"), memo="test deposit")
    promo_credit_grant(user=api_user, amount=Decimal("0.84292"), memo="test promo")
    assert call(transport, key=api_key, action="balance") == (
        200,
        {"balance": "100.84292", "currency": "USD"},
    )


def test_balance_falls_with_spending(call, api_user, api_key):  # R-BAL-4
    deposit_credit(user=api_user, amount=Decimal("10.00"), memo="test deposit")
    funds_spend(user=api_user, amount=Decimal("2.5"), memo="order", ref_kind="order", ref_id="1")
    assert call(key=api_key, action="balance")[1]["balance"] == "7.50"


def test_new_account_has_zero_balance(call, api_key):
    assert call(key=api_key, action="balance")[1] == {"balance": "0.00", "currency": "USD"}
