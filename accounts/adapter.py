from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from django import forms
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.shortcuts import render

from accounts.models import username_normalize

USERNAME_CHARACTERS = "Use only English letters, digits and the characters @ . + - _."


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with the panel's account statuses: a suspended or closed account cannot sign
    in (R-ACC-5); the person is told why and whom to write to."""

    def clean_username(self, username, shallow=False):
        """Issue 9: usernames are NFKC-normalised, ASCII only (no look-alike letters from
        other scripts) and unique without regard to case (``Demo`` = ``demo``; the database
        holds a unique index on ``lower(username)``)."""
        username = username_normalize(username)
        try:
            ASCIIUsernameValidator()(username)
        except forms.ValidationError:
            raise forms.ValidationError(USERNAME_CHARACTERS, code="invalid") from None
        username = super().clean_username(username, shallow=shallow)
        if not shallow:
            from accounts.models import User

            if User.objects.filter(username__iexact=username).exists():
                raise self.validation_error("username_taken")
        return username

    def pre_login(self, request, user, **kwargs):
        if user.is_active and not user.can_order:
            clear_login(request)
            return render(request, "accounts/not_active.html", {"account": user}, status=403)
        return super().pre_login(request, user, **kwargs)
