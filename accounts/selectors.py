from allauth.mfa.models import Authenticator


def user_has_totp(user) -> bool:
    """Whether the user has an active TOTP authenticator (R-ACC-7)."""
    if not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
