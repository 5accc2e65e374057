from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from django import forms
from django.contrib.auth.validators import ASCIIUsernameValidator
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from accounts.models import USERNAME_SKELETON, username_normalize, username_skeleton

from .geo import client_ip

USERNAME_CHARACTERS = _("Use only English letters, digits and the characters @ . + - _.")
USERNAME_TOO_CLOSE = _("That username is too close to one already taken.")


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with the panel's account statuses: a suspended or closed account cannot sign
    in (R-ACC-5); the person is told why and whom to write to."""

    def clean_username(self, username, shallow=False):
        """Issue 9: usernames are NFKC-normalised, ASCII only (no look-alike letters from
        other scripts) and unique without regard to case (``Demo`` = ``demo``; the database
        holds a unique index on ``lower(username)``), nor reading like one already taken
        (``paypaI``, ``dem0`` next to ``paypal``, ``demo``: ``username_skeleton``, also a
        unique index)."""
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
            look_alike = User.objects.alias(skeleton=USERNAME_SKELETON)
            if look_alike.filter(skeleton=username_skeleton(username)).exists():
                raise forms.ValidationError(USERNAME_TOO_CLOSE, code="username_taken")
        return username

    def pre_login(self, request, user, **kwargs):
        if user.is_active and not user.can_order:
            clear_login(request)
            return render(request, "accounts/not_active.html", {"account": user}, status=403)
        return super().pre_login(request, user, **kwargs)

    def get_login_redirect_url(self, request):
        """R-LEG-2: a customer with a material Terms version to accept sees it first."""
        from legal.selectors import terms_acceptance_due

        url = super().get_login_redirect_url(request)
        user = request.user
        if user.is_authenticated and not user.is_staff and terms_acceptance_due(user=user):
            return f"{reverse('legal:accept')}?{urlencode({'next': url})}"
        return url

    def get_client_ip(self, request) -> str:
        """allauth's rate limits count by the same client IP as the rest of the panel."""
        return client_ip(request) or super().get_client_ip(request)

    def login(self, request, user):
        """Every sign-in (sign-up included) is recorded with IP and country (R-PRV-1)."""
        from .services import sign_in_record, user_activity_touch

        response = super().login(request, user)
        sign_in_record(
            user=user, ip_address=client_ip(request), device=getattr(request, "device_id", None)
        )
        user_activity_touch(user=user)  # R-DOR-1: a sign-in counts as activity
        return response
