from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import user_has_totp


@login_required
def overview(request):
    return render(request, "accounts/overview.html", {"has_totp": user_has_totp(request.user)})


@login_required
def api(request):
    # Placeholder until the API issue lands.
    return render(request, "placeholder.html", {"title": "API"})
