import csv
import json
import logging

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from smmpanel.exceptions import DomainError

from . import services, stripe_api
from .forms import AddFundsForm, HistoryFilterForm
from .models import Deposit
from .money import money_text
from .selectors import balance_get, deposit_get_for_user, deposits_for_user, history_for_user
from .templatetags.billing_tags import ref_url

logger = logging.getLogger(__name__)


def _own_deposit(request, deposit_id: int) -> Deposit:
    try:
        return deposit_get_for_user(user=request.user, deposit_id=deposit_id)
    except Deposit.DoesNotExist as exc:
        raise Http404("No such payment.") from exc


@login_required
def add_funds(request):
    """Choose an amount (and a promo code) for a card deposit (R-PAY-1, R-PAY-5, R-PRO-1)."""
    cards_enabled = stripe_api.cards_enabled()
    form = AddFundsForm(request.POST or None, user=request.user)
    if request.method == "POST" and cards_enabled and form.is_valid():
        try:
            deposit = services.deposit_start(
                user=request.user,
                amount=form.cleaned_data["amount"],
                promo_code=form.cleaned_data["promo_code"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("billing:deposit_pay", deposit_id=deposit.pk)
    return render(
        request,
        "billing/add_funds.html",
        {
            "form": form,
            "cards_enabled": cards_enabled,
            "deposits": deposits_for_user(user=request.user)[:20],
        },
    )


@login_required
@never_cache
def deposit_pay(request, deposit_id: int):
    """The card form: Stripe.js Elements collect the card, the panel never sees it."""
    deposit = _own_deposit(request, deposit_id)
    if deposit.method != Deposit.Method.STRIPE or deposit.status != Deposit.Status.AWAITING_PAYMENT:
        return redirect("billing:deposit_detail", deposit_id=deposit.pk)
    try:
        setup_secret = services.deposit_setup(deposit=deposit)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("billing:add_funds")
    return render(
        request,
        "billing/deposit_pay.html",
        {
            "deposit": deposit,
            "setup_secret": setup_secret,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
            "stripe_js_url": settings.STRIPE_JS_URL,
        },
    )


@login_required
@require_POST
def deposit_charge(request, deposit_id: int):
    """Called by the pay page's script once Stripe.js has saved the card."""
    deposit = _own_deposit(request, deposit_id)
    next_url = reverse("billing:deposit_detail", kwargs={"deposit_id": deposit.pk})
    try:
        result = services.deposit_charge(deposit=deposit)
    except DomainError as exc:
        return JsonResponse({"error": exc.message, "next_url": next_url}, status=409)
    return JsonResponse(
        {
            "status": result.status,
            "client_secret": result.client_secret,
            "error": result.message,
            "next_url": next_url,
        }
    )


@login_required
def deposit_detail(request, deposit_id: int):
    """A payment's status: pending until Stripe confirms it, then credited or failed."""
    return render(
        request, "billing/deposit_detail.html", {"deposit": _own_deposit(request, deposit_id)}
    )


@login_required
@require_GET
@never_cache
def deposit_status(request, deposit_id: int):
    deposit = _own_deposit(request, deposit_id)
    return JsonResponse({"status": deposit.status, "final": deposit.is_final})


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's signed events (R-PAY-2): verified on the raw body, acted on exactly once."""
    try:
        stripe.WebhookSignature.verify_header(
            request.body.decode("utf-8"),
            request.headers.get("Stripe-Signature", ""),
            settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE,
        )
        event = json.loads(request.body)
        event_id, event_type = event["id"], event["type"]
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError) as exc:
        logger.warning("stripe webhook refused: %s", exc.__class__.__name__)
        return HttpResponseBadRequest("invalid event")
    try:
        outcome = services.stripe_event_handle(event=event)
    except stripe.StripeError:
        logger.exception("stripe webhook %s: Stripe did not answer; it will retry", event_id)
        return HttpResponse("retry later", status=503)
    logger.info("stripe webhook %s %s: %s", event_id, event_type, outcome)
    return HttpResponse("ok")


def _history_filters(request) -> tuple[HistoryFilterForm, dict]:
    form = HistoryFilterForm(request.GET or None)
    return form, form.filters()


@login_required
def history(request):
    """Every movement of the balance with its source, reason and link (R-BAL-7)."""
    form, filters = _history_filters(request)
    rows = history_for_user(user=request.user, **filters)
    page = Paginator(rows, settings.BILLING_HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "billing/history.html",
        {
            "form": form,
            "page": page,
            "balance": balance_get(user=request.user),
            "query": query.urlencode(),
        },
    )


class _Echo:
    def write(self, value):
        return value


def _csv_money(amount) -> str:
    """The display rule (billing.money) as a plain number a spreadsheet reads."""
    return "" if amount is None else money_text(amount)


@login_required
def history_csv(request):
    _, filters = _history_filters(request)
    rows = history_for_user(user=request.user, **filters)
    writer = csv.writer(_Echo())
    header = [
        "date (UTC)",
        "movement",
        "description",
        "reference",
        "link",
        "deposited",
        "promotional",
        "owed",
        "balance after",
    ]

    def lines():
        yield writer.writerow(header)
        for txn in rows.iterator():
            reference = f"{txn.ref_kind} {txn.ref_id}".strip()
            url = ref_url(txn.ref_kind, txn.ref_id)
            yield writer.writerow(
                [
                    txn.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    txn.get_reason_display(),
                    txn.memo,
                    reference,
                    request.build_absolute_uri(url) if url else "",
                    _csv_money(txn.deposited),
                    _csv_money(txn.promotional),
                    _csv_money(txn.owed),
                    _csv_money(txn.balance_after),
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d")
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="balance-history-{stamp}.csv"'
    return response
