from django.conf import settings
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from accounts.geo import client_ip

from .gate import ordering_refusal, region_refusal


class ComplianceMiddleware:
    """The web side of ``legal.gate``: sign-up from a restricted region is refused (R-AUP-3);
    the order pages (``LEGAL_ORDER_VIEWS``) send a customer with Terms to accept to the accept
    page (R-LEG-2) and refuse a restricted region or an account on hold (R-AUP-2, R-AUP-3)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        name = match.view_name if match else ""
        if name == "account_signup":
            return self._signup(request)
        if name not in settings.LEGAL_ORDER_VIEWS:
            return None
        user = request.user
        if not user.is_authenticated or user.is_staff:
            return None
        refusal = ordering_refusal(user=user, ip=client_ip(request))
        if refusal is None:
            return None
        if refusal.kind == "terms":
            return redirect(f"{reverse('legal:accept')}?{urlencode({'next': request.path})}")
        return render(request, "legal/refused.html", {"refusal": refusal}, status=403)

    @staticmethod
    def _signup(request):
        refusal = region_refusal(ip=client_ip(request), signup=True)
        if refusal is not None:
            return render(request, "legal/refused.html", {"refusal": refusal}, status=403)
        return None
