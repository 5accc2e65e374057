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
    # The index lists every section; without the sidebar a list gets the whole 1280 px
    # beside its filters (issue 14).
    enable_nav_sidebar = False

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

    # --- sections named for the operators' work (issue 14) ---------------------------------
    # The index and the sidebar group the apps' models into these sections, in this order;
    # an app not listed keeps its own section after them (a new app shows up as it is).
    SECTIONS = [
        ("customers", "Customers", ["accounts", "account", "mfa", "auth"]),
        ("orders", "Orders", ["orders"]),
        ("catalog", "Catalog", ["catalog"]),
        ("money", "Money", ["billing"]),
        ("support", "Support", ["support"]),
        ("legal", "Legal", ["legal"]),
        ("system", "Scheduled jobs", ["django_celery_beat"]),
    ]

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps  # one app's own page keeps its models as they are
        by_label = {app["app_label"]: app for app in apps}
        grouped = []
        for key, name, labels in self.SECTIONS:
            members = [by_label.pop(label) for label in labels if label in by_label]
            if not members:
                continue
            grouped.append(
                {
                    **members[0],
                    "name": name,
                    "section": key,
                    "models": [model for app in members for model in app["models"]],
                }
            )
        return grouped + list(by_label.values())


def admin_apply_each(modeladmin, request, items, call, *, refused, done) -> int:
    """Run an admin action's service ``call`` on each item. A refusal (an exception of the
    ``refused`` class, with its ``message``) is shown as an error and the others go on; the
    ones done are counted in one message, ``done(count)``. Returns that count."""
    count = 0
    for item in items:
        try:
            call(item)
        except refused as refusal:
            modeladmin.message_user(request, refusal.message, messages.ERROR)
        else:
            count += 1
    if count:
        modeladmin.message_user(request, done(count))
    return count
