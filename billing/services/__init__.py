"""Every write of the billing app. Other apps import from here (see docs/ARCHITECTURE.md)."""

from billing.ledger import Spend, Split, split_return

from .deposits import (
    ChargeResult,
    deposit_amount_check,
    deposit_charge,
    deposit_manual_create,
    deposit_setup,
    deposit_start,
    funds_add_manual,
    stripe_customer_get_or_create,
    stripe_event_handle,
)
from .ledger import (
    deposit_credit,
    funds_return,
    promo_credit_grant,
    staff_adjust,
)
from .promos import promo_bonus, promo_code_check, promo_redeem
from .spending import Charge, SpendPlan, funds_spend, funds_spend_many, spends_plan

__all__ = [
    "Charge",
    "ChargeResult",
    "Spend",
    "SpendPlan",
    "Split",
    "deposit_amount_check",
    "deposit_charge",
    "deposit_credit",
    "deposit_manual_create",
    "deposit_setup",
    "deposit_start",
    "funds_add_manual",
    "funds_return",
    "funds_spend",
    "funds_spend_many",
    "promo_bonus",
    "promo_code_check",
    "promo_credit_grant",
    "promo_redeem",
    "spends_plan",
    "split_return",
    "staff_adjust",
    "stripe_customer_get_or_create",
    "stripe_event_handle",
]

# Issue 12: money after the deposit (import the modules directly:
# billing.services.withdrawals, .disputes, .affiliates, .dormancy, .closure).
