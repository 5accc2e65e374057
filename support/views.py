"""The customer's tickets (R-SUP-1, R-SUP-3), the screenshot view and the public abuse form
(R-SUP-4). Thin: parse, call a service or selector, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.decorators import ratelimit

from accounts.geo import client_ip
from accounts.services import notices_mark_read
from smmpanel.middleware import shows_form_refused
from support.exceptions import SupportRefused
from support.forms import AbuseReportForm, ReplyForm, TicketForm
from support.models import Attachment, Ticket
from support.selectors import (
    attachment_get_for_viewer,
    support_online,
    ticket_get_for_user,
    ticket_messages_for_customer,
    ticket_notices_unread,
    ticket_orders,
    tickets_for_user,
)
from support.services import (
    abuse_report_create,
    ticket_close,
    ticket_open,
    ticket_reply_customer,
)
from support.services.tickets import order_ids_parse

TOO_MANY = gettext_lazy("Too many messages in a short time: wait a while, then try again.")


def _ticket_rate(group, request) -> str:
    return settings.SUPPORT_TICKET_RATE_LIMIT


def _abuse_rate(group, request) -> str:
    return settings.SUPPORT_ABUSE_RATE_LIMIT


def _own_ticket(request, ticket_id) -> Ticket:
    try:
        return ticket_get_for_user(user=request.user, ticket_id=ticket_id)
    except Ticket.DoesNotExist as error:
        raise Http404 from error


@login_required
@require_GET
def ticket_list(request):
    context = {
        "tickets": tickets_for_user(user=request.user)[:200],
        "notices": ticket_notices_unread(user=request.user)[:20],
    }
    return render(request, "support/list.html", context)


@shows_form_refused
@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=_ticket_rate, method="POST", block=False)
def ticket_new(request):
    """R-SUP-1: a new ticket; support hours are shown, tickets are taken at any time (R-SUP-3)."""
    if request.method == "POST":
        form = TicketForm(request.POST, request.FILES)
        if getattr(request, "form_refused", ""):  # smmpanel.middleware.FormLimitsMiddleware
            form.add_error(None, request.form_refused)
        elif getattr(request, "limited", False):
            form.add_error(None, TOO_MANY)
        elif form.is_valid():
            data = form.cleaned_data
            try:
                ticket = ticket_open(
                    user=request.user,
                    kind=data["kind"],
                    subject=data["subject"],
                    body=data["body"],
                    order_ids=order_ids_parse(data["order_ids"]),
                    problem=data["problem"],
                    uploads=data["screenshots"],
                )
            except SupportRefused as refusal:
                form.add_refusal(refusal)
            else:
                messages.success(
                    request,
                    _("Ticket #%(number)s is open; we answer here.") % {"number": ticket.pk},
                )
                return redirect("support:detail", ticket_id=ticket.pk)
    else:
        initial = {}
        order_id = request.GET.get("order", "")
        if order_id.isdigit():
            initial = {"kind": Ticket.Kind.ORDER, "order_ids": order_id}
        form = TicketForm(initial=initial)
    return render(request, "support/new.html", {"form": form, "online": support_online()})


@shows_form_refused
@login_required
@require_http_methods(["GET", "POST"])
@ratelimit(key="user", rate=_ticket_rate, method="POST", block=False)
def ticket_detail(request, ticket_id: int):
    """The thread; replying reopens a closed ticket."""
    ticket = _own_ticket(request, ticket_id)
    form = ReplyForm()
    if request.method == "POST":
        form = ReplyForm(request.POST, request.FILES)
        if getattr(request, "form_refused", ""):  # smmpanel.middleware.FormLimitsMiddleware
            form.add_error(None, request.form_refused)
        elif getattr(request, "limited", False):
            form.add_error(None, TOO_MANY)
        elif form.is_valid():
            try:
                ticket_reply_customer(
                    user=request.user,
                    ticket_id=ticket.pk,
                    body=form.cleaned_data["body"],
                    uploads=form.cleaned_data["screenshots"],
                )
            except SupportRefused as refusal:
                form.add_refusal(refusal)
            else:
                messages.success(request, _("Reply sent."))
                return redirect("support:detail", ticket_id=ticket.pk)
    if request.method == "GET":
        notices_mark_read(user=request.user, url=request.path)
    context = {
        "ticket": ticket,
        "thread": ticket_messages_for_customer(ticket=ticket),
        "orders": ticket_orders(ticket=ticket),
        "form": form,
    }
    return render(request, "support/detail.html", context)


@login_required
@require_POST
def ticket_close_view(request, ticket_id: int):
    ticket = _own_ticket(request, ticket_id)
    ticket_close(ticket_id=ticket.pk, actor=request.user, user=request.user)
    messages.success(
        request,
        _("Ticket #%(number)s is closed. Reply to it to reopen it.") % {"number": ticket.pk},
    )
    return redirect("support:detail", ticket_id=ticket.pk)


@require_GET
def attachment(request, attachment_id: int):
    """A screenshot, only to the ticket's customer and desk staff; never sniffed as HTML."""
    try:
        item = attachment_get_for_viewer(user=request.user, attachment_id=attachment_id)
    except Attachment.DoesNotExist as error:
        raise Http404 from error
    response = FileResponse(
        item.file.open("rb"),
        content_type=item.content_type,
        as_attachment=request.GET.get("download") == "1",
        filename=item.download_name,
    )
    if "Content-Disposition" not in response:
        response["Content-Disposition"] = f'inline; filename="{item.download_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_http_methods(["GET", "POST"])
@ratelimit(key="ip", rate=_abuse_rate, method="POST", block=False)
def abuse_report(request):
    """R-SUP-4: anyone, signed in or not, reports a violation into the abuse queue."""
    if request.method == "POST":
        form = AbuseReportForm(request.POST, request.FILES)
        if getattr(request, "limited", False):  # R-AUP-4
            form.add_error(None, _("Too many reports from your address: try again later."))
        elif form.is_valid():
            data = form.cleaned_data
            try:
                report = abuse_report_create(
                    reporter=request.user,
                    email=data["email"],
                    link=data["link"],
                    order_reference=data["order_reference"],
                    description=data["description"],
                    uploads=data["evidence"],
                    ip_address=client_ip(request),
                )
            except SupportRefused as refusal:
                form.add_refusal(refusal)
            else:
                return render(request, "support/abuse_thanks.html", {"report": report})
    else:
        form = AbuseReportForm()
    return render(request, "support/abuse.html", {"form": form})
