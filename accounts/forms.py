from django import forms
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from legal.models import Document
from legal.selectors import document_current

from . import services
from .geo import client_ip


class SignupForm(forms.Form):
    """The fields allauth's sign-up form adds for the panel (R-ACC-1)."""

    is_adult = forms.BooleanField(
        label=_("I am 18 years or older"),
        error_messages={"required": _("You must be 18 or older to use the panel.")},
    )
    accept_terms = forms.BooleanField(
        error_messages={"required": _("You must accept the Terms of Service to sign up.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accept_terms"].label = format_html(
            _('I accept the <a href="{}" target="_blank">Terms of Service</a>'),
            reverse("legal:document", args=[Document.Kind.TERMS]),
        )

    def clean(self):
        cleaned = super().clean()
        self.terms = document_current(kind=Document.Kind.TERMS)
        if self.terms is None:
            raise forms.ValidationError(
                _("Sign-up is closed until Terms of Service are published.")
            )
        return cleaned

    def signup(self, request, user) -> None:
        services.user_signup_complete(
            user=user,
            terms=self.terms,
            ip_address=client_ip(request),
            device=getattr(request, "device_id", None),
            language=translation.get_language(),  # issue 14: their notices' language
        )
        # Issue 12 (R-PRO-3): a sign-up through a referral link is linked to its referrer.
        from billing.services.affiliates import referral_attach

        code = request.COOKIES.get("smm_ref") or request.GET.get("ref", "")
        referral_attach(user=user, code=code, ip_address=request.META.get("REMOTE_ADDR"))
