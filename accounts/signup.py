"""The sign-up form allauth uses (``ACCOUNT_FORMS["signup"]``). Its own module: allauth's
form is built on ``accounts.forms.SignupForm`` (``ACCOUNT_SIGNUP_FORM_CLASS``), so it cannot
live there."""

from allauth.account import signals
from allauth.account.adapter import get_adapter
from allauth.account.forms import SignupForm as AllauthSignupForm
from allauth.account.internal.flows.email_verification import (
    add_email_verification_sent_message,
    send_verification_email_to_address,
)
from allauth.account.models import EmailAddress
from django import forms
from django.shortcuts import redirect


class PanelSignupForm(AllauthSignupForm):
    """allauth's sign-up form, answering alike whether or not the email is taken (issue 9:
    no account enumeration). Either way the answer is the "check your email" page and one
    mail: a verification link for a new account, an "you already have an account" note for
    a taken address. A new account is not signed in by the sign-up itself; it signs in
    right away with its password (unverified accounts can order, R-ACC-3)."""

    def validate_unique_email(self, value) -> str:
        try:
            return super().validate_unique_email(value)
        except forms.ValidationError:
            self.account_already_exists = True  # told by mail, never on the page
            return value

    def try_save(self, request):
        email = self.cleaned_data.get("email")
        if self.account_already_exists:
            get_adapter().send_account_already_exists_mail(email)
            add_email_verification_sent_message(request, email, signup=True)  # as below
            return None, redirect("account_email_verification_sent")
        user = self.save(request)
        signals.user_signed_up.send(sender=user.__class__, request=request, user=user)
        address = (
            EmailAddress.objects.get_primary(user) or EmailAddress.objects.filter(user=user).first()
        )
        if address is not None:  # adds the same "confirmation email sent" message
            send_verification_email_to_address(request, address, signup=True)
        return user, redirect("account_email_verification_sent")
