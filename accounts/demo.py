"""Demo users for the embedded default and for trying the panel."""

from allauth.account.models import EmailAddress
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


def seed(stdout) -> None:
    _user(*DEMO_ADMIN, staff=True)
    customer = _user(*DEMO_CUSTOMER, staff=False)
    # Keys are stored hashed, so a run can only print a fresh one (the previous one stops).
    _, key = api_key_issue(user=customer)
    stdout.write(f"  staff admin: {DEMO_ADMIN[0]} / {DEMO_ADMIN[2]} (set up TOTP to open /admin/)")
    stdout.write(f"  customer:    {DEMO_CUSTOMER[0]} / {DEMO_CUSTOMER[2]}  API key: {key}")
