"""The customer's orders pages: New Order, Mass Order, Orders (list, CSV) and one order."""

import csv
from decimal import Decimal
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.money import ZERO, money_text, usd_text
from billing.selectors import balance_get
from catalog.selectors import mass_order_example, services_for_user
from orders.exceptions import OrderRefused, RefillRefused
from orders.forms import MassOrderForm, NewOrderForm, OrderFilterForm
from orders.models import Order, Subscription
from orders.selectors import (
    order_get_for_user,
    order_history_for_customer,
    orders_for_user,
    orders_page_for_user,
    portions_for_parent,
    refills_for_user,
)
from orders.services import (
    order_can_be_canceled_by_customer,
    order_cancel_request,
    order_place,
    orders_place_mass,
)
from orders.services.refills import refill_list_notes, refill_refusal, refill_request
from orders.services.relay import dripfeed_can_stop
from orders.services.relay.subscription import subscription_resume
from smmpanel.middleware import shows_form_refused
from smmpanel.outage import Limit, rate_limits_exceeded


def _service_data(service) -> dict:
    """What the New Order script needs of a service (the server recomputes everything)."""
    return {
        "id": service.pk,
        "category": service.category_id,
        "name": service.name,
        "type": service.type,
        "rate": str(service.user_rate),
        "min": service.min_quantity,
        "max": service.max_quantity,
        "description": service.description,
        "dripfeed": service.dripfeed,
        "refill": service.refill,
        "refill_days": service.refill_days,
        "cancel": service.cancel,
        "average_time": service.average_time_display,
    }


TOO_MANY = gettext_lazy("Too many orders in a short time: wait a minute, then try again.")


def _placement_limited(view):
    """R-AUP-4: order placement on the web is rate-limited per account and per IP (while
    Redis is down, counted per process: smmpanel/outage.py)."""

    @wraps(view)
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            rate = settings.ORDERS_PLACE_RATE_LIMIT
            group = f"{view.__module__}.{view.__qualname__}"
            request.limited = rate_limits_exceeded(
                request, [Limit(group, "user", rate), Limit(group, "ip", rate)]
            )
        return view(request, *args, **kwargs)

    return limited


@shows_form_refused
@login_required
@require_http_methods(["GET", "POST"])
@_placement_limited
def new(request):
    """New Order (R-ORD-1): one order; the charge shows as the customer types."""
    services = services_for_user(user=request.user)
    categories = list({service.category_id: service.category for service in services}.values())
    if request.method == "POST":
        form = NewOrderForm(request.POST, services=services, categories=categories)
        if getattr(request, "form_refused", ""):  # smmpanel.middleware.FormLimitsMiddleware
            form.add_error(None, request.form_refused)
        elif getattr(request, "limited", False):
            form.add_error(None, TOO_MANY)
        elif form.is_valid():
            try:
                order = order_place(
                    user=request.user, source=Order.Source.WEB, **form.place_arguments()
                )
            except OrderRefused as refusal:
                form.add_refusal(refusal)
            else:
                messages.success(
                    request,
                    _("Order #%(number)s placed: %(charge)s.")
                    % {"number": order.pk, "charge": usd_text(order.charge)},
                )
                return redirect("orders:detail", order_id=order.pk)
    else:
        initial = {}
        service_id = _cursor(request.GET.get("service"))
        if service_id is not None:
            initial["service"] = service_id
        form = NewOrderForm(initial=initial, services=services, categories=categories)
    return render(
        request,
        "orders/new.html",
        {
            "form": form,
            "services_data": [_service_data(service) for service in services],
            "spendable": balance_get(user=request.user).spendable,  # checked as they type
        },
    )


@shows_form_refused
@login_required
@require_http_methods(["GET", "POST"])
@_placement_limited
def mass(request):
    """Mass Order (R-ORD-1): each line validated and placed on its own."""
    results = None
    form = MassOrderForm(request.POST or None, example=mass_order_example())
    if getattr(request, "form_refused", ""):  # smmpanel.middleware.FormLimitsMiddleware
        form.add_error(None, request.form_refused)
    elif getattr(request, "limited", False):
        form.add_error(None, TOO_MANY)
    elif request.method == "POST" and form.is_valid():
        try:
            results = orders_place_mass(user=request.user, text=form.cleaned_data["orders"])
        except OrderRefused as refusal:
            form.add_error("orders", refusal.message)
    summary = None
    if results is not None:
        placed = [result for result in results if result.ok]
        summary = {
            "placed": len(placed),
            "refused": len(results) - len(placed),
            "charge": sum((result.order.charge for result in placed), ZERO),
        }
    return render(
        request, "orders/mass.html", {"form": form, "results": results, "summary": summary}
    )


def _cursor(value: str | None) -> int | None:
    """A positive id from the query string; anything else (not ASCII digits, too long) None."""
    if value and value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


@login_required
@require_GET
def order_list(request):
    """The customer's orders: status filters, search by id or link, keyset pages."""
    form = OrderFilterForm(request.GET or None)
    filters = form.filters()
    page = orders_page_for_user(
        user=request.user,
        filters=filters,
        before=_cursor(request.GET.get("before")),
        after=_cursor(request.GET.get("after")),
        size=settings.ORDERS_PAGE_SIZE,
    )
    query = {key: value for key, value in (("status", filters.status), ("q", filters.q)) if value}
    notes = refill_list_notes(orders=page.orders)
    for order in page.orders:
        order.refill_note = notes.get(order.pk, "")  # R-ORD-13: no Refill button, and why
    return render(
        request,
        "orders/list.html",
        {
            "form": form,
            "page": page,
            "filters": filters,
            "query": query,
            "statuses": Order.Status.choices,
        },
    )


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    """A CSV cell that a spreadsheet cannot run as a formula (links are customers' text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_HEADER = [
    "ID", "Date (UTC)", "Service", "Link", "Quantity", "Charge (USD)", "Start count", "Remains",
    "Status", "Placed through",
]  # fmt: skip


@login_required
@require_GET
def export_csv(request):
    """The customer's orders matching the filters, as CSV, streamed (any number of rows)."""
    filters = OrderFilterForm(request.GET or None).filters()
    orders = orders_for_user(user=request.user, filters=filters).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        for order in orders:
            yield writer.writerow(
                _cell(value)
                for value in (
                    order.pk,
                    order.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    order.service_name,
                    order.link,
                    order.quantity,
                    money_text(order.charge),  # the display rule, as a plain number
                    order.start_count,
                    order.remains,
                    order.get_status_display(),
                    order.get_source_display(),
                )
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response


def _order_or_404(request, order_id: int) -> Order:
    try:
        return order_get_for_user(user=request.user, order_id=order_id)
    except Order.DoesNotExist:
        raise Http404("No such order.") from None


@login_required
@require_GET
def detail(request, order_id: int):
    """One order: charge, start count, remains, its full history (R-ORD-16), what can be done."""
    order = _order_or_404(request, order_id)
    delivered = None
    if order.remains is not None:
        delivered = order.quantity - order.remains
    return render(
        request,
        "orders/detail.html",
        {
            "order": order,
            "history": order_history_for_customer(order=order),
            "can_cancel": order_can_be_canceled_by_customer(order),
            "can_stop": dripfeed_can_stop(order),
            "refill_refusal": refill_refusal(order=order) if order.refill_until else None,
            "refills": order.refills.order_by("-pk"),
            "subscription": getattr(order, "subscription", None) if order.is_subscription else None,
            "portions": portions_for_parent(order=order) if order.is_dripfeed_parent else [],
            "delivered": delivered,
            "paid": (order.paid_promotional or Decimal(0), order.paid_deposited or Decimal(0)),
        },
    )


@login_required
@require_POST
def cancel(request, order_id: int):
    """The customer asks to cancel (R-ORD-6)."""
    order = _order_or_404(request, order_id)
    try:
        order_cancel_request(user=request.user, order=order)
    except OrderRefused as refusal:
        messages.error(request, refusal.message)
    else:
        order.refresh_from_db()
        if order.is_subscription:
            messages.success(
                request,
                _("Order #%(number)s: the subscription is canceled.") % {"number": order.pk},
            )
        elif order.stopped_at is not None:
            messages.success(
                request,
                _(
                    "Order #%(number)s: the portions not yet sent are stopped; "
                    "%(amount)s is back on your balance."
                )
                % {"number": order.pk, "amount": usd_text(order.refunded)},
            )
        elif order.status == Order.Status.CANCELED:
            messages.success(
                request,
                _("Order #%(number)s is canceled; %(amount)s is back.")
                % {"number": order.pk, "amount": usd_text(order.refunded)},
            )
        else:
            messages.info(
                request, _("Cancel requested. The provider decides; it is not guaranteed.")
            )
    return redirect("orders:detail", order_id=order.pk)


@login_required
@require_POST
def refill(request, order_id: int):
    """The customer asks to refill a Completed order (R-ORD-13)."""
    order = _order_or_404(request, order_id)
    try:
        created = refill_request(user=request.user, order=order)
    except RefillRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("Refill #%(refill)s of order #%(number)s requested.")
            % {"refill": created.pk, "number": order.pk},
        )
    if request.POST.get("next") == "list":
        return redirect("orders:refills")
    return redirect("orders:detail", order_id=order.pk)


@login_required
@require_GET
def refill_list(request):
    """The customer's refill requests and their statuses."""
    refills = refills_for_user(user=request.user)[:200]
    return render(request, "orders/refills.html", {"refills": refills})


@login_required
@require_POST
def resume(request, order_id: int):
    """The customer resumes a subscription paused for lack of funds (R-ORD-11)."""
    order = _order_or_404(request, order_id)
    try:
        subscription_resume(user=request.user, order=order)
    except (OrderRefused, Subscription.DoesNotExist):
        messages.error(request, _("Only a paused subscription can be resumed."))
    else:
        messages.success(request, _("The subscription is running again."))
    return redirect("orders:detail", order_id=order.pk)
