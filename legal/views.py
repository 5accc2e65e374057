from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.geo import client_ip

from .forms import AcceptForm
from .models import Document
from .selectors import document_current, document_history, document_version, terms_acceptance_due
from .services import acceptance_record


def _page(request, document: Document, *, preview: bool = False):
    return render(
        request,
        "legal/document.html",
        {
            "document": document,
            "current": document_current(kind=document.kind),
            "history": document_history(kind=document.kind),
            "preview": preview,
        },
    )


def document(request, kind: str):
    """The version in force, its dates and the earlier versions (R-LEG-1), contacts (R-LEG-3)."""
    if kind not in Document.Kind.values:
        raise Http404
    doc = document_current(kind=kind)
    if doc is None:
        raise Http404
    return _page(request, doc)


def document_old(request, kind: str, version: int):
    try:
        doc = document_version(kind=kind, version=version)
    except Document.DoesNotExist:
        raise Http404 from None
    return _page(request, doc)


@staff_member_required
def preview(request, document_id: int):
    """Staff see a draft (or any version) as customers will (R-LEG-1)."""
    return _page(request, get_object_or_404(Document, pk=document_id), preview=True)


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/dashboard/"


@login_required
@require_http_methods(["GET", "POST"])
def accept(request):
    """R-LEG-2: the new material Terms, to accept before ordering again."""
    due = terms_acceptance_due(user=request.user)
    if due is None:
        return redirect(_next_url(request))
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        acceptance_record(user=request.user, document=due, ip_address=client_ip(request))
        messages.success(
            request,
            _("Thank you: you accepted the %(title)s, version %(version)s.")
            % {"title": due.title, "version": due.version},
        )
        return redirect(_next_url(request))
    return render(
        request, "legal/accept.html", {"document": due, "form": form, "next": _next_url(request)}
    )
