from django import forms
from django.utils.translation import gettext_lazy as _


class AcceptForm(forms.Form):
    accept = forms.BooleanField(
        label=_("I have read and accept these Terms of Service"),
        error_messages={"required": _("Tick the box to accept the new Terms, or sign out.")},
    )
