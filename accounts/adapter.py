from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.internal.stagekit import clear_login
from django.shortcuts import render


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with the panel's account statuses: a suspended or closed account cannot sign
    in (R-ACC-5); the person is told why and whom to write to."""

    def pre_login(self, request, user, **kwargs):
        if user.is_active and not user.can_order:
            clear_login(request)
            return render(request, "accounts/not_active.html", {"account": user}, status=403)
        return super().pre_login(request, user, **kwargs)

    def login(self, request, user):
        from .services import user_activity_touch

        response = super().login(request, user)
        user_activity_touch(user=user)  # R-DOR-1: a sign-in counts as activity (issue 12)
        return response
