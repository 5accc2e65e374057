from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect


class AccountStatusMiddleware:
    """Ends the session of a customer whose account was suspended or closed meanwhile
    (R-ACC-5); staff keep theirs so that the admin stays reachable."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_staff and not user.can_order:
            logout(request)
            messages.error(request, "Your account is not active; you have been signed out.")
            return redirect("account_login")
        return self.get_response(request)
