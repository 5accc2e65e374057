from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.selectors import user_has_totp


class PanelAdminSite(admin.AdminSite):
    """The admin opens only to active staff who have set up TOTP (R-ACC-7).

    Signing in goes through allauth (its rate limits and second factor apply);
    a staff member without TOTP is sent to set it up first.
    """

    site_header = "smmpanel administration"
    site_title = "smmpanel admin"

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.STAFF_REQUIRE_TOTP or user_has_totp(request.user)

    def login(self, request, extra_context=None):
        next_url = request.GET.get("next", "")
        if not url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            next_url = reverse("admin:index")
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return redirect_to_login(next_url, login_url=reverse("account_login"))
        if not self.has_permission(request):
            messages.warning(
                request,
                "Staff accounts must set up two-factor authentication (TOTP) "
                "before the administration opens.",
            )
            return redirect("mfa_activate_totp")
        return redirect(next_url)
