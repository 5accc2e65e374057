"""The affiliate program (R-PRO-3): a referral link per account, the referred sign-up linked to
its referrer, a commission on the referred customer's deposits credited to the referrer's
Affiliate balance (its own ledger account), clawed back when the deposit is refunded or
disputed (an Affiliate balance that cannot cover it leaves the rest Owed, R-BAL-5)."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from billing.exceptions import AffiliateRefused
from billing.models import (
    Account,
    AffiliateLink,
    Commission,
    Deposit,
    Referral,
    RefKind,
    TransactionReason,
)
from billing.money import ZERO, quantize
from billing.selectors import balance_frozen

from .ledger import _customer_accounts_locked, _money, _post, _system_account

Kind = Account.Kind
CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def affiliate_link_get_or_create(*, user) -> AffiliateLink:
    link = AffiliateLink.objects.filter(user=user).first()
    if link is not None:
        return link
    for _ in range(5):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
        try:
            with transaction.atomic():
                return AffiliateLink.objects.create(user=user, code=code)
        except IntegrityError:
            if link := AffiliateLink.objects.filter(user=user).first():
                return link
    raise RuntimeError("could not make a unique referral code")


def referral_attach(*, user, code: str, ip_address: str | None) -> Referral | None:
    """Link a new sign-up to the owner of the referral ``code`` (unknown codes, or one's own,
    are ignored: sign-up never fails because of a referral)."""
    code = (code or "").strip().lower()
    if not code:
        return None
    link = AffiliateLink.objects.filter(code=code).select_related("user").first()
    if link is None or link.user_id == user.pk:
        return None
    referral, _ = Referral.objects.get_or_create(
        referred=user, defaults={"referrer": link.user, "signup_ip": ip_address or None}
    )
    return referral


def _signup_ip(user) -> str | None:
    """Where the user signed up from: the IP of the first Terms acceptance (R-ACC-1)."""
    from legal.models import Acceptance

    referral = Referral.objects.filter(referred=user).values_list("signup_ip", flat=True).first()
    if referral:
        return referral
    return (
        Acceptance.objects.filter(user=user, ip_address__isnull=False)
        .order_by("accepted_at")
        .values_list("ip_address", flat=True)
        .first()
    )


def _accounts_linked(first, second) -> bool:
    """R-ACC-4's linked accounts: a sign-up IP, a card or a device shared, even through others."""
    from accounts.selectors import accounts_linked

    return second.pk in accounts_linked(user=first)


def referral_self_reason(*, referral: Referral, deposit: Deposit | None = None) -> str:
    """Why a commission would be a self-referral (R-PRO-3), or "" when it is not: the same
    account, linked accounts, the same sign-up IP, or the same card (Stripe fingerprint)."""
    referrer, referred = referral.referrer, referral.referred
    if referrer.pk == referred.pk:
        return "same account"
    if _accounts_linked(referrer, referred):
        return "linked accounts"
    ip = referral.signup_ip
    if ip and ip == _signup_ip(referrer):
        return "same sign-up IP address"
    fingerprint = deposit.card_fingerprint if deposit is not None else ""
    if fingerprint and Deposit.objects.filter(user=referrer, card_fingerprint=fingerprint).exists():
        return "same payment card"
    return ""


def commission_credit(*, deposit: Deposit) -> Commission | None:
    """The referrer's commission on a credited deposit of a referred customer, once per
    deposit (its unique row and ledger key); a self-referral earns nothing (R-PRO-3)."""
    referral = (
        Referral.objects.select_related("referrer", "referred")
        .filter(referred_id=deposit.user_id)
        .first()
    )
    if referral is None:
        return None
    amount = quantize(deposit.amount * settings.AFFILIATE_COMMISSION_PERCENT / 100)
    existing = Commission.objects.filter(deposit=deposit).first()
    if existing is not None:
        return existing
    reason = referral_self_reason(referral=referral, deposit=deposit)
    if not reason and referral.referrer.status != referral.referrer.Status.ACTIVE:
        # A closed or suspended referrer earns nothing: the money would sit where nobody can
        # use it (R-ACC-5, R-ACC-6).
        reason = f"the referrer's account is {referral.referrer.get_status_display().lower()}"
    if reason or amount <= 0:
        return Commission.objects.create(
            referral=referral,
            deposit=deposit,
            amount=amount,
            status=Commission.Status.REFUSED,
            refusal_reason=reason or "no commission on this amount",
        )
    with transaction.atomic():
        accounts = _customer_accounts_locked(referral.referrer, extra=(Kind.AFFILIATE,))
        commission = Commission.objects.create(
            referral=referral, deposit=deposit, amount=amount, status=Commission.Status.CREDITED
        )
        commission.transaction = _post(
            user=referral.referrer,
            reason=TransactionReason.COMMISSION,
            memo=f"Commission on a deposit of a customer you referred (referral #{referral.pk})",
            ref_kind=RefKind.COMMISSION,
            ref_id=commission.pk,
            idempotency_key=f"commission:deposit:{deposit.pk}",
            legs=[
                (_system_account(Kind.AFFILIATE_EXPENSE), -amount),
                (accounts[Kind.AFFILIATE], amount),
            ],
        )
        commission.save(update_fields=["transaction"])
    return commission


def commission_clawback(*, deposit: Deposit, share: Decimal, key: str, cause: str) -> Decimal:
    """Take back ``share`` (0..1) of the commission on ``deposit`` because it was refunded or
    disputed (R-PRO-3). What the Affiliate balance cannot cover becomes Owed (R-BAL-5).
    Idempotent per ``key``; returns what was clawed back."""
    with transaction.atomic():
        commission = (
            Commission.objects.select_for_update()
            .select_related("referral__referrer")
            .filter(deposit=deposit, status=Commission.Status.CREDITED)
            .first()
        )
        if commission is None:
            return ZERO
        referrer = commission.referral.referrer
        accounts = _customer_accounts_locked(referrer, extra=(Kind.AFFILIATE,))
        amount = min(
            quantize(commission.amount * share), commission.amount - commission.clawed_back
        )
        if amount <= 0:
            return ZERO
        idempotency_key = f"clawback:{key}"
        from billing.models import Transaction

        if Transaction.objects.filter(idempotency_key=idempotency_key).exists():
            return ZERO
        affiliate = accounts[Kind.AFFILIATE]
        taken = min(affiliate.balance, amount)
        txn = _post(
            user=referrer,
            reason=TransactionReason.CLAWBACK,
            memo=f"Commission clawed back: the referred deposit was {cause} "
            f"(referral #{commission.referral_id})",
            ref_kind=RefKind.COMMISSION,
            ref_id=commission.pk,
            idempotency_key=idempotency_key,
            legs=[
                (affiliate, -taken),
                (accounts[Kind.OWED], -(amount - taken)),
                (_system_account(Kind.AFFILIATE_EXPENSE), amount),
            ],
        )
        commission.clawed_back += amount
        commission.clawback_transaction = txn
        if commission.clawed_back >= commission.amount:
            commission.status = Commission.Status.CLAWED_BACK
        commission.save(update_fields=["clawed_back", "clawback_transaction", "status"])
    return amount


def affiliate_transfer(*, user, amount: Decimal):
    """Move Affiliate balance to Deposited Funds (the panel balance), where it can be spent or
    withdrawn by the same rules (R-PRO-3); never while the balance is frozen (R-DOR-2)."""
    amount = _money(amount)
    with transaction.atomic():
        accounts = _customer_accounts_locked(user, extra=(Kind.AFFILIATE,))
        if balance_frozen(user=user):  # read under the lock the freeze takes too
            raise AffiliateRefused(
                gettext(
                    "Your balance is frozen after a long inactivity; ask us to restore it first."
                )
            )
        if accounts[Kind.OWED].balance > 0:
            raise AffiliateRefused(
                gettext("Your balance owes money; a deposit must repay it first.")
            )
        if accounts[Kind.AFFILIATE].balance < amount:
            raise AffiliateRefused(gettext("That is more than your affiliate balance."))
        return _post(
            user=user,
            reason=TransactionReason.TRANSFER,
            memo="Affiliate balance moved to your panel balance",
            ref_kind=RefKind.ACCOUNT,
            ref_id=user.pk,
            legs=[(accounts[Kind.AFFILIATE], -amount), (accounts[Kind.DEPOSITED], amount)],
        )
