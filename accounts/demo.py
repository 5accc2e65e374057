"""Demo users for the embedded default and for trying the panel."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth import get_user_model

from .services import api_key_issue

DEMO_ADMIN = ("admin", "admin@example.com", "demo-admin-pass")
DEMO_CUSTOMER = ("demo", "demo@example.com", "demo-pass-123")


def _user(username: str, email: str, password: str, *, staff: bool):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": staff, "is_superuser": staff}
    )
    if created:
        user.set_password(password)
        user.save()
    EmailAddress.objects.get_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


def staff_totp_note(user) -> str:
    """How a demo staff member passes TOTP. Under `make run` (DEBUG and DEMO_TOTP_CODE) TOTP is
    set up for them and that code signs them in; otherwise they set it up at first sign-in."""
    if not (settings.DEBUG and settings.DEMO_TOTP_CODE):
        return "set up TOTP at first sign-in"
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())
    return f"TOTP code {settings.DEMO_TOTP_CODE}, make run only"


def seed(stdout) -> None:
    admin = _user(*DEMO_ADMIN, staff=True)
    customer = _user(*DEMO_CUSTOMER, staff=False)
    # Keys are stored hashed, so a run can only print a fresh one (the previous one stops).
    _, key = api_key_issue(user=customer)
    totp = staff_totp_note(admin)
    stdout.write(f"  staff admin: {DEMO_ADMIN[0]} / {DEMO_ADMIN[2]} ({totp}; /admin/)")
    stdout.write(f"  customer:    {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[2]}  API key: {key}")
