"""Pages of money going out (issue 12): withdrawals and refund offers (R-WDR-*), the
affiliate page (R-PRO-3), closing the account (R-ACC-6), restoring a frozen balance (R-DOR-*).
Thin: parse, call a service, render."""

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from smmpanel.exceptions import DomainError

from .models import AffiliateLink, Commission, Transaction, TransactionReason, Withdrawal
from .selectors import balance_get, payout_figure, withdrawal_get_for_user, withdrawals_for_user
from .services import affiliates, closure, dormancy, withdrawals

REFERRAL_COOKIE = "smm_ref"


def _own_withdrawal(request, withdrawal_id: int) -> Withdrawal:
    try:
        return withdrawal_get_for_user(user=request.user, withdrawal_id=withdrawal_id)
    except Withdrawal.DoesNotExist as exc:
        raise Http404("No such request.") from exc


@login_required
def withdrawals_page(request):
    """The figure of a withdrawal, shown before it is confirmed (R-WDR-3), and the requests."""
    error = ""
    if request.method == "POST":
        try:
            expected = Decimal(request.POST.get("expected_amount", ""))
        except InvalidOperation:
            expected = None
        if expected is None:
            error = _("Review the amount and confirm again.")
        else:
            try:
                withdrawal = withdrawals.withdrawal_request(
                    user=request.user, expected_amount=expected
                )
            except DomainError as exc:
                error = exc.message
            else:
                messages.success(
                    request,
                    _("Withdrawal #%(number)s requested: the amount is on hold.")
                    % {"number": withdrawal.pk},
                )
                return redirect("billing:withdrawals")
    return render(
        request,
        "billing/withdrawals.html",
        {
            "figure": payout_figure(user=request.user),
            "balance": balance_get(user=request.user),
            "withdrawals": withdrawals_for_user(user=request.user)[:50],
            "frozen_case": dormancy.dormancy_frozen_case(user=request.user),
            "error": error,
        },
    )


@login_required
@require_POST
def withdrawal_cancel(request, withdrawal_id: int):
    withdrawal = _own_withdrawal(request, withdrawal_id)
    try:
        withdrawals.withdrawal_cancel(user=request.user, withdrawal_id=withdrawal.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Request #%(number)s canceled.") % {"number": withdrawal.pk})
    return redirect("billing:withdrawals")


@login_required
@require_POST
def refund_confirm(request, withdrawal_id: int):
    """The customer confirms the refund figure staff offered (R-WDR-2)."""
    withdrawal = _own_withdrawal(request, withdrawal_id)
    try:
        withdrawals.refund_confirm(user=request.user, withdrawal_id=withdrawal.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Refund #%(number)s confirmed: the amount is on hold.") % {"number": withdrawal.pk},
        )
    return redirect("billing:withdrawals")


@login_required
@require_POST
def dormancy_restore(request):
    try:
        dormancy.dormancy_restore_request(user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your frozen Deposited Funds are back in your balance."))
    return redirect("billing:withdrawals")


@login_required
def affiliates_page(request):
    """R-PRO-3: the referral link, referrals, commissions and the move to the panel balance."""
    link = affiliates.affiliate_link_get_or_create(user=request.user)
    error = ""
    if request.method == "POST":
        try:
            amount = Decimal(request.POST.get("amount", "")).quantize(Decimal("0.01"))
            affiliates.affiliate_transfer(user=request.user, amount=amount)
        except (InvalidOperation, ValueError):
            error = _("Enter an amount in dollars and cents.")
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(request, _("Moved to your panel balance."))
            return redirect("billing:affiliates")
    return render(
        request,
        "billing/affiliates.html",
        {
            "link_url": request.build_absolute_uri(f"/billing/r/{link.code}/"),
            "referrals": request.user.referrals.order_by("-pk")[:100],
            "commissions": Commission.objects.filter(referral__referrer=request.user)
            .select_related("referral__referred")
            .order_by("-pk")[:100],
            "balance": balance_get(user=request.user),
            "payouts": Transaction.objects.prefetch_related("entries__account")
            .filter(user=request.user, reason=TransactionReason.TRANSFER)
            .order_by("-pk")[:100],
            "percent": settings.AFFILIATE_COMMISSION_PERCENT,
            "error": error,
        },
    )


@require_GET
def referral_landing(request, code: str):
    """A referral link: remember the code for the sign-up, then show the sign-up page. A code
    longer than any code is no referral (issue 9: input is never shortened into a match)."""
    response = redirect("account_signup")
    if len(code) <= AffiliateLink._meta.get_field("code").max_length:
        response.set_cookie(
            REFERRAL_COOKIE,
            code,
            max_age=settings.AFFILIATE_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
        )
    return response


@login_required
def account_close(request):
    """R-ACC-6: pending withdrawals are offered first; closing asks for the username."""
    error = ""
    if request.method == "POST":
        try:
            closure.account_close(
                user=request.user, confirmation=request.POST.get("confirmation", "")
            )
        except DomainError as exc:
            error = exc.message
        else:
            logout(request)
            return render(request, "billing/account_closed.html")
    return render(
        request,
        "billing/account_close.html",
        {
            "balance": balance_get(user=request.user),
            "figure": payout_figure(user=request.user),
            "pending": withdrawals_for_user(user=request.user).filter(status__in=Withdrawal.HELD),
            "offers": withdrawals_for_user(user=request.user).filter(
                status=Withdrawal.Status.AWAITING_CONFIRMATION
            ),
            "error": error,
        },
    )
