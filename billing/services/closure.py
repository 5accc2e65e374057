"""A customer closes their own account (R-ACC-6).

Pending withdrawals are offered first (the page) and go on being paid after the closure; a
refund staff offered (R-WDR-2) must be confirmed or declined before closing, so none is dropped
unseen. Promotional Credit is forfeited (R-PRO-2); the Affiliate balance is earned money, not
Promotional Credit, so like unwithdrawn Deposited Funds it is kept, not forfeited (the page
offers moving it to the panel balance first). Sign-in and the API key stop (status closed,
the key revoked); everything else is kept as R-PRV-1 requires."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from billing.exceptions import ClosureRefused
from billing.models import Account, RefKind, TransactionReason, Withdrawal
from billing.money import usd_text

from .ledger import _customer_accounts_locked, _post, _system_account

Kind = Account.Kind


def account_close(*, user, confirmation: str) -> None:
    """Close ``user``'s account; ``confirmation`` must be their username."""
    from accounts.services import account_terminate, api_key_revoke

    if confirmation.strip() != user.username:
        raise ClosureRefused(gettext("Type your username exactly to confirm."))
    if user.status != user.Status.ACTIVE:
        raise ClosureRefused(gettext("This account is not active."))
    from legal.selectors import account_held

    if account_held(user=user):  # R-AUP-2: the balance stays as evidence until staff finish
        raise ClosureRefused(
            gettext("Your account is under review; it can be closed once staff finish the review.")
        )
    with transaction.atomic():
        accounts = _customer_accounts_locked(user)
        # Read under the lock a refund offer takes too (R-WDR-2): the customer answers it first.
        if Withdrawal.objects.filter(
            user=user, status=Withdrawal.Status.AWAITING_CONFIRMATION
        ).exists():
            raise ClosureRefused(
                gettext("A refund was offered to you: confirm or decline it before closing.")
            )
        promotional = accounts[Kind.PROMOTIONAL].balance
        if promotional:
            _post(
                user=user,
                reason=TransactionReason.FORFEIT,
                memo=f"Promotional Credit {usd_text(promotional)} forfeited on closing the account",
                ref_kind=RefKind.ACCOUNT,
                ref_id=user.pk,
                idempotency_key=f"closure:{user.pk}:promotional",
                legs=[
                    (accounts[Kind.PROMOTIONAL], -promotional),
                    (_system_account(Kind.FORFEITURES), promotional),
                ],
            )
        api_key_revoke(user=user)
        account_terminate(user=user, reason="Closed by the customer (R-ACC-6)", actor=user)
