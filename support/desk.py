"""The staff desk (R-SUP-2): a server-rendered area for Support staff at ``/desk/``.

Open only to active staff with TOTP (R-ACC-7) and the ``support.work_desk`` permission
(the Support, Admin roles); the abuse queue needs ``support.handle_abuse``. Every change
calls a service; order actions call the orders app's own staff services, and those that
return money need ``support.order_money_actions`` (Finance, Admin), never Support alone.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import user_has_totp
from orders.exceptions import StaffActionRefused
from orders.services import order_resend, order_staff_cancel
from support.exceptions import SupportRefused
from support.forms import AbuseStatusForm, AssignForm, QueueFilterForm, StaffReplyForm
from support.models import AbuseReport, CannedReply, Ticket
from support.selectors import (
    QueueFilters,
    abuse_queue,
    canned_replies,
    claim_state,
    desk_queue,
    staff_agents,
    ticket_messages_for_staff,
    ticket_orders,
)
from support.services import (
    abuse_transition,
    ticket_assign,
    ticket_close,
    ticket_reply_staff,
)

MONEY_PERMISSION = "support.order_money_actions"


def desk_required(permission: str = "support.work_desk"):
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not (user.is_active and user.is_staff):
                raise Http404
            if settings.STAFF_REQUIRE_TOTP and not user_has_totp(user):  # R-ACC-7
                messages.warning(
                    request,
                    "Staff accounts must set up two-factor authentication (TOTP) "
                    "before the desk opens.",
                )
                return redirect("mfa_activate_totp")
            if not user.has_perm(permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _ticket(ticket_id) -> Ticket:
    try:
        return Ticket.objects.select_related("user", "assignee").get(pk=ticket_id)
    except Ticket.DoesNotExist as error:
        raise Http404 from error


@desk_required()
@require_GET
def queue(request):
    agents = list(staff_agents())
    form = QueueFilterForm(request.GET or None, agents=agents)
    filters = QueueFilters()
    if form.is_valid():
        data = form.cleaned_data
        filters = QueueFilters(
            status=data["status"] or "active",
            kind=data["kind"],
            assignee=data["assignee"],
            age=data["age"],
        )
    page = Paginator(
        desk_queue(filters=filters, user=request.user), settings.SUPPORT_DESK_PAGE_SIZE
    )
    tickets = page.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "tickets": tickets,
        "query": query.urlencode(),
        "now": timezone.now(),
        "can_abuse": request.user.has_perm("support.handle_abuse"),
    }
    return render(request, "support/desk/queue.html", context)


@desk_required()
@require_GET
def ticket(request, ticket_id: int):
    item = _ticket(ticket_id)
    initial = {}
    canned_id = request.GET.get("canned", "")
    if canned_id.isdigit():
        canned = CannedReply.objects.filter(pk=int(canned_id), is_active=True).first()
        if canned is not None:
            initial["body"] = canned.body
    return _ticket_page(request, item, StaffReplyForm(initial=initial))


def _ticket_page(request, item: Ticket, form, status: int = 200):
    agents = list(staff_agents())
    orders = ticket_orders(ticket=item)
    for order in orders:
        order.claim = claim_state(order=order)  # R-ORD-14: whether a claim is still possible
    context = {
        "ticket": item,
        "thread": ticket_messages_for_staff(ticket=item),
        "orders": orders,
        "events": item.events.select_related("actor"),
        "form": form,
        "assign_form": AssignForm(initial={"assignee": str(item.assignee_id or "")}, agents=agents),
        "canned": canned_replies(kind=item.kind),
        "customer_tickets": Ticket.objects.filter(user=item.user).count(),
        "can_money": request.user.has_perm(MONEY_PERMISSION),
        "staff_view": True,
        "now": timezone.now(),
    }
    return render(request, "support/desk/ticket.html", context, status=status)


@desk_required()
@require_POST
def reply(request, ticket_id: int):
    item = _ticket(ticket_id)
    form = StaffReplyForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            ticket_reply_staff(
                ticket_id=item.pk,
                actor=request.user,
                body=data["body"],
                internal=data["internal"],
                uploads=data["screenshots"],
            )
        except SupportRefused as refusal:
            form.add_refusal(refusal)
        else:
            messages.success(request, "Internal note added." if data["internal"] else "Reply sent.")
            return redirect("desk:ticket", ticket_id=item.pk)
    return _ticket_page(request, item, form, status=400)


@desk_required()
@require_POST
def assign(request, ticket_id: int):
    item = _ticket(ticket_id)
    agents = list(staff_agents())
    if request.POST.get("to") == "me":
        assignee = request.user
    else:
        form = AssignForm(request.POST, agents=agents)
        if not form.is_valid():
            messages.error(request, "Choose an agent from the list.")
            return redirect("desk:ticket", ticket_id=item.pk)
        assignee = form.agents.get(form.cleaned_data["assignee"])
    try:
        ticket_assign(ticket_id=item.pk, assignee=assignee, actor=request.user)
    except SupportRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request, f"Assigned to {assignee.username}." if assignee else "Unassigned."
        )
    return redirect("desk:ticket", ticket_id=item.pk)


@desk_required()
@require_POST
def close(request, ticket_id: int):
    item = _ticket(ticket_id)
    ticket_close(ticket_id=item.pk, actor=request.user)
    messages.success(request, f"Ticket #{item.pk} closed.")
    return redirect("desk:queue")


@desk_required()
@require_POST
def order_action(request, ticket_id: int, order_id: int, action: str):
    """Act on a ticket's order through the orders services (never around them)."""
    item = _ticket(ticket_id)
    if not item.order_links.filter(order_id=order_id).exists():
        raise Http404
    reason = (request.POST.get("reason") or "").strip() or f"Ticket #{item.pk}"
    try:
        if action == "resend":
            order_resend(order_id=order_id, actor=request.user)
            done = "sent again"
        elif action == "cancel":
            if not request.user.has_perm(MONEY_PERMISSION):
                raise PermissionDenied
            order_staff_cancel(order_id=order_id, actor=request.user, reason=reason)
            done = "canceled with a full return"
        else:
            raise Http404
    except StaffActionRefused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Order #{order_id} {done}.")
    return redirect("desk:ticket", ticket_id=item.pk)


# --- the abuse queue (R-SUP-4) ----------------------------------------------------------------
@desk_required("support.handle_abuse")
@require_GET
def abuse_list(request):
    status = request.GET.get("status", "")
    reports = Paginator(abuse_queue(status=status), settings.SUPPORT_DESK_PAGE_SIZE)
    context = {
        "reports": reports.get_page(request.GET.get("page")),
        "status": status,
        "statuses": AbuseReport.Status.choices,
    }
    return render(request, "support/desk/abuse_list.html", context)


@desk_required("support.handle_abuse")
@require_http_methods(["GET", "POST"])
def abuse_detail(request, report_id: int):
    report = AbuseReport.objects.filter(pk=report_id).first()
    if report is None:
        raise Http404
    form = AbuseStatusForm(request.POST or None, initial={"status": report.status})
    if request.method == "POST" and form.is_valid():
        try:
            abuse_transition(
                report_id=report.pk,
                new=form.cleaned_data["status"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except SupportRefused as refusal:
            form.add_error("status", refusal.message)
        else:
            messages.success(request, f"Report #{report.pk} updated.")
            return redirect("desk:abuse_detail", report_id=report.pk)
    context = {"report": report, "form": form, "events": report.events.select_related("actor")}
    return render(request, "support/desk/abuse_detail.html", context)
