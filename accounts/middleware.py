from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.utils.translation import gettext as _


class AccountStatusMiddleware:
    """Ends the session of a customer whose account was suspended or closed meanwhile
    (R-ACC-5); staff keep theirs so that the admin stays reachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_staff and not user.can_order:
            logout(request)
            messages.error(request, _("Your account is not active; you have been signed out."))
            return redirect("account_login")
        return self.get_response(request)


class DeviceCookieMiddleware:
    """A random, first-party device id in a long-lived cookie (R-ACC-4): accounts signed up or
    signed in from one browser are linked for staff. It identifies a browser, not a person,
    and is never shared."""

    MAX_AGE = 2 * 365 * 24 * 3600

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        import secrets

        from django.conf import settings

        name = settings.DEVICE_COOKIE_NAME
        device = request.COOKIES.get(name, "")
        fresh = not (len(device) == 32 and device.isalnum())
        if fresh:
            device = secrets.token_hex(16)
        request.device_id = device
        response = self.get_response(request)
        if fresh and not request.path.startswith(("/api/", "/healthz", "/static/")):
            response.set_cookie(
                name, device, max_age=self.MAX_AGE, httponly=True, samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )  # fmt: skip
        return response
