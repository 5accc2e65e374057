from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from catalog.selectors import custom_rates_for_user

from . import services
from .selectors import api_key_active, notice_mail_off, user_has_totp


@login_required
def overview(request):
    from .notices import MAIL_SWITCHES

    off = notice_mail_off(user=request.user)
    switches = [(switch, switch.required or switch.key not in off) for switch in MAIL_SWITCHES]
    context = {"has_totp": user_has_totp(request.user), "mail_switches": switches}
    return render(request, "accounts/overview.html", context)


@login_required
@require_POST
def notice_mail(request):
    """The account page's mail switches (issue 14): the ticked ones are on."""
    from .notices import MAIL_SWITCHES

    wanted = set(request.POST.getlist("mail"))
    for switch in MAIL_SWITCHES:
        services.notice_mail_set(user=request.user, switch=switch.key, on=switch.key in wanted)
    messages.success(request, _("Your mail notice choices are saved."))
    return redirect("accounts:overview")


@login_required
@ratelimit(key="user", rate="10/h", method="POST", block=True)
@never_cache
def api(request):
    """The API page: the key panel (a new key is shown once, here) and the contract."""
    plaintext = None
    if request.method == "POST":
        _, plaintext = services.api_key_issue(user=request.user)
    context = {
        "api_key": api_key_active(user=request.user),
        "new_key": plaintext,
        "api_url": request.build_absolute_uri("/api/v2"),
        "custom_rates": custom_rates_for_user(user=request.user),
        "limit_per_account": settings.API_RATE_LIMIT_PER_ACCOUNT,
        "limit_per_ip": settings.API_RATE_LIMIT_PER_IP,
    }
    return render(request, "accounts/api.html", context)


# --- notices on the dashboard (issue 14) ---
def _back(request):
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("dashboard")


@login_required
@require_POST
def notice_read(request, notice_id: int):
    services.notice_mark_read(user=request.user, notice_id=notice_id)
    return _back(request)


@login_required
@require_POST
def notices_read(request):
    services.notices_mark_read(user=request.user)
    return _back(request)


def language_set(request):
    """The footer's language switcher (issue 14): Django's ``set_language`` (the cookie), and
    for a signed-in customer the choice is kept, so notices and mails are written in it."""
    from django.views.i18n import set_language

    response = set_language(request)
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and settings.LANGUAGE_COOKIE_NAME in response.cookies
    ):
        services.user_language_set(user=request.user, language=request.POST.get("language", ""))
    return response
