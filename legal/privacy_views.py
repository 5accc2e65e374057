"""Account → Privacy (R-PRV-3): download my data, ask for a correction, delete my data."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .models import DataExport
from .privacy import (
    PrivacyRefused,
    account_erase,
    correction_request,
    data_export_for_token,
    data_export_request,
    data_export_token,
)


class CorrectionForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("What is wrong, and what should it be?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=5000,
    )


class DeletionForm(forms.Form):
    password = forms.CharField(label=gettext_lazy("Your password"), widget=forms.PasswordInput)
    confirm = forms.CharField(label=gettext_lazy('Type "DELETE" to confirm'))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password

    def clean_confirm(self):
        if self.cleaned_data["confirm"].strip() != "DELETE":
            raise forms.ValidationError(_("Type DELETE in capitals to confirm."))
        return "DELETE"


def _page(request, *, correction=None, deletion=None, status=200):
    export = DataExport.objects.filter(user=request.user).defer("archive").first()
    link = None
    if export is not None and export.status == DataExport.Status.READY:
        link = reverse("accounts:privacy_download", args=[data_export_token(export=export)])
    return render(
        request,
        "legal/privacy.html",
        {
            "export": export,
            "download_url": link,
            "correction_form": correction or CorrectionForm(),
            "deletion_form": deletion or DeletionForm(user=request.user),
        },
        status=status,
    )


@login_required
@never_cache
@require_GET
def privacy(request):
    return _page(request)


@login_required
@require_POST
def export(request):
    data_export_request(user=request.user)
    messages.info(request, _("Your archive is being prepared; this page shows its progress."))
    return redirect("accounts:privacy")


@login_required
@never_cache
@require_GET
def download(request, token: str):
    """The archive, through a signed link valid for a limited time (and only for its owner)."""
    try:
        found = data_export_for_token(user=request.user, token=token)
    except DataExport.DoesNotExist:
        raise Http404("This link has expired or is not yours; prepare a new archive.") from None
    response = HttpResponse(bytes(found.archive), content_type="application/zip")
    stamp = found.created_at.strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.zip"'
    return response


@login_required
@require_POST
def correction(request):
    form = CorrectionForm(request.POST)
    if form.is_valid():
        try:
            correction_request(user=request.user, text=form.cleaned_data["text"])
        except PrivacyRefused as exc:
            form.add_error("text", exc.message)
        else:
            messages.success(request, _("Thank you: staff will correct it or tell you why not."))
            return redirect("accounts:privacy")
    return _page(request, correction=form, status=400)


@login_required
@require_POST
def delete(request):
    form = DeletionForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            account_erase(user=request.user)
        except PrivacyRefused as exc:
            form.add_error(None, exc.message)
        else:
            logout(request)
            messages.success(request, _("Your data is deleted and your account closed."))
            return redirect("home")
    return _page(request, deletion=form, status=400)
