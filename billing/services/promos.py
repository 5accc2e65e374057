"""Promo codes: a bonus of Promotional Credit on a deposit (R-PRO-1, R-PRO-2)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts.selectors import accounts_linked
from billing.exceptions import PromoCodeRefused
from billing.models import Deposit, PromoCode, PromoRedemption, RefKind, TransactionReason
from billing.money import ZERO, quantize, usd_text

from .ledger import promo_credit_grant


def promo_bonus(*, promo: PromoCode, amount: Decimal) -> Decimal:
    """The bonus for a deposit of ``amount``: fixed, or a percentage capped at ``max_bonus``."""
    if promo.kind == PromoCode.Kind.FIXED:
        return quantize(promo.value)
    bonus = quantize(amount * promo.value / 100)
    if promo.max_bonus is not None:
        bonus = min(bonus, promo.max_bonus)
    return bonus


def _usd(amount: Decimal) -> str:
    return usd_text(amount)


def _account_limit_refusal(promo: PromoCode, user, limit: int) -> str:
    """Why ``user`` has reached the per-account ``limit``, or "". One person's accounts share
    it: the redemptions of ``user`` and of its linked accounts count together (R-ACC-4)."""
    used = promo.redemptions.filter(user=user).count()
    if used >= limit == 1:
        return gettext("You have already used this promo code.")
    if used >= limit:
        return gettext(
            "You have already used this promo code %(used)s times, the most it allows."
        ) % {"used": used}
    linked = accounts_linked(user=user)
    if linked and used + promo.redemptions.filter(user_id__in=linked).count() >= limit:
        return gettext(
            "This promo code has already been used on an account linked to yours, "
            "and its limit counts your accounts together."
        )
    return ""


def _refusals(promo: PromoCode, *, user, amount: Decimal, at: datetime):
    """Every reason ``user`` may not use ``promo`` on a deposit of ``amount`` at ``at``.

    The per-account limit counts the redemptions of ``user`` and of its linked accounts
    together (R-ACC-4): a second account of the same person gets no second bonus.
    """
    if not promo.is_active:
        yield gettext("This promo code is no longer active.")
    if at < promo.valid_from:
        yield gettext("This promo code can be used from %(start)s UTC.") % {
            "start": f"{promo.valid_from:%Y-%m-%d %H:%M}"
        }
    if promo.valid_until is not None and at >= promo.valid_until:
        yield gettext("This promo code expired on %(end)s UTC.") % {
            "end": f"{promo.valid_until:%Y-%m-%d %H:%M}"
        }
    eligible = promo.eligible_users.all()
    if eligible.exists() and not eligible.filter(pk=user.pk).exists():
        yield gettext("This promo code is not available for your account.")
    if amount < promo.min_deposit:
        yield gettext("This promo code needs a deposit of at least %(amount)s.") % {
            "amount": _usd(promo.min_deposit)
        }
    limit = promo.max_uses_per_account
    if limit is not None and (reason := _account_limit_refusal(promo, user, limit)):
        yield reason
    if promo.max_uses_total is not None and promo.redemptions.count() >= promo.max_uses_total:
        yield gettext("This promo code has been fully redeemed.")
    if promo_bonus(promo=promo, amount=amount) <= ZERO:
        yield gettext("This promo code gives no bonus on this amount.")


def _refusal(promo: PromoCode, *, user, amount: Decimal, at: datetime) -> str:
    """The first reason to refuse, or "" when the code may be used (R-PRO-1)."""
    return next(_refusals(promo, user=user, amount=amount, at=at), "")


def promo_code_check(*, code: str, user, amount: Decimal, at: datetime | None = None) -> PromoCode:
    """The promo code if ``user`` may use it on a deposit of ``amount``; otherwise
    ``PromoCodeRefused`` with the reason, fit to show (R-PRO-1)."""
    promo = PromoCode.objects.filter(code=code.strip().upper()).first()
    if promo is None:
        raise PromoCodeRefused(gettext("This promo code does not exist."))
    if reason := _refusal(promo, user=user, amount=amount, at=at or timezone.now()):
        raise PromoCodeRefused(reason)
    return promo


def promo_redeem(*, deposit: Deposit) -> PromoRedemption | None:
    """Grant the bonus of the deposit's promo code as Promotional Credit, if still allowed.

    Runs inside the deposit's crediting. The validity window is judged as of when the
    customer started the deposit; the usage limits now, under a lock on the code, so
    concurrent deposits never exceed them. A refusal is noted on the deposit.
    """
    if deposit.promo_code_id is None:
        return None
    with transaction.atomic():
        promo = PromoCode.objects.select_for_update().get(pk=deposit.promo_code_id)
        reason = _refusal(promo, user=deposit.user, amount=deposit.amount, at=deposit.created_at)
        if reason:
            deposit.promo_note = f"Promo code {promo.code} was not applied: {reason}"
            return None
        bonus = promo_bonus(promo=promo, amount=deposit.amount)
        txn = promo_credit_grant(
            user=deposit.user,
            amount=bonus,
            memo=f"Promo code {promo.code}: bonus on deposit #{deposit.pk}",
            reason=TransactionReason.PROMO_BONUS,
            ref_kind=RefKind.DEPOSIT,
            ref_id=deposit.pk,
            idempotency_key=f"promo-bonus:deposit:{deposit.pk}",
        )
        return PromoRedemption.objects.create(
            promo_code=promo, user=deposit.user, deposit=deposit, bonus=bonus, transaction=txn
        )
