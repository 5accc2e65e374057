import unicodedata

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Lower, Replace
from django.utils.translation import gettext_lazy as _


def username_normalize(username: str) -> str:
    """Issue 9: NFKC, as Django's user forms do (full-width letters become ASCII ones)."""
    return unicodedata.normalize("NFKC", username).strip()


# Issue 9: plain-ASCII look-alikes, after the capital I is read as l and case is dropped
# (``paypaI`` = ``paypal``, ``dem0`` = ``demo``, ``rnary`` = ``mary``). Only the clearly
# confusable ones; the same steps in Python and in SQL, in this order.
SKELETON_STEPS = (("0", "o"), ("1", "l"), ("rn", "m"), ("vv", "w"))


def username_skeleton(username: str) -> str:
    """What a username looks like to a reader: equal skeletons are one username."""
    skeleton = username.replace("I", "l").lower()
    for look_alike, letter in SKELETON_STEPS:
        skeleton = skeleton.replace(look_alike, letter)
    return skeleton


def _skeleton_sql():
    expression = Lower(Replace(F("username"), Value("I"), Value("l")))
    for look_alike, letter in SKELETON_STEPS:
        expression = Replace(expression, Value(look_alike), Value(letter))
    return expression


USERNAME_SKELETON = _skeleton_sql()


class User(AbstractUser):
    """A customer or a staff member of the panel."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")  # R-ACC-5
        CLOSED = "closed", _("Closed")  # R-ACC-6

    email = models.EmailField("email address", unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.TextField(blank=True)
    adult_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person confirmed being 18 or older (R-ACC-1)."
    )
    # Issue 12 (R-DOR-1): the last sign-in, deposit or order, kept by those services.
    last_activity_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Issue 14: the language the customer chose with the switcher (or signed up in); their
    # notices and mails are written in it. Empty: the site's default (settings.LANGUAGE_CODE).
    language = models.CharField(max_length=8, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "suspended", "closed"]),
                name="user_status_valid",
            ),
            # Issue 9: "Demo" and "demo" are one username (sign-up also NFKC-normalises it).
            models.UniqueConstraint(Lower("username"), name="user_username_lower_unique"),
            # Issue 9: and no two usernames that read alike (username_skeleton).
            models.UniqueConstraint(
                USERNAME_SKELETON,
                name="user_username_skeleton_unique",
                violation_error_message="That username is too close to one already taken.",
            ),
        ]

    @property
    def can_order(self) -> bool:
        return self.is_active and self.status == self.Status.ACTIVE


class ApiKey(models.Model):
    """A customer's API v2 key, kept only as a keyed hash (R-KEY-1, R-KEY-2, R-PRV-5)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    prefix = models.CharField(max_length=8, help_text="The first characters, for display.")
    digest = models.CharField(max_length=64, unique=True, help_text="HMAC-SHA256 of the key.")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(revoked_at__isnull=True),
                name="api_key_one_active_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccountStatusChange(models.Model):
    """Why and by whom an account was suspended, closed or reinstated (R-ACC-5)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="status_changes"
    )
    old_status = models.CharField(max_length=16, choices=User.Status.choices)
    new_status = models.CharField(max_length=16, choices=User.Status.choices)
    reason = models.TextField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.user}: {self.old_status} → {self.new_status}"


class Notice(models.Model):
    """Something the panel tells one customer: shown in the account, and mailed if asked.

    Written only by ``accounts.services.notice_send``; every app that has news for a
    customer (a ticket reply, a return, new Terms, a dormancy notice) calls it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    kind = models.CharField(max_length=32, help_text="What it is about, e.g. ticket_reply.")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True, help_text="Where the customer reads more.")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the mail was sent (R-DOR-7: that is when it counts)."
    )

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notice_user_unread")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class NoticeMailOff(models.Model):
    """A customer's "do not mail me" for one switch of ``accounts.notices.MAIL_SWITCHES``
    (issue 14). No row: mailed. The in-account notice shows either way."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_mail_off"
    )
    switch = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "switch"], name="notice_mail_off_once")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: no mail for {self.switch}"


class SignIn(models.Model):
    """One sign-in: when, from which IP and country (R-PRV-1). Deleted after
    ``PRIVACY_SIGNIN_RETENTION_DAYS`` by the beat task ``accounts.sign_ins_purge``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_ins"
    )
    at = models.DateTimeField(db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "-at"], name="signin_user_at")]

    def __str__(self) -> str:
        return f"{self.user} at {self.at:%Y-%m-%d %H:%M} from {self.ip_address or '?'}"


class AccountSignal(models.Model):
    """A trace two accounts of one person share (R-ACC-4): the sign-up IP, a card's
    fingerprint at the payment processor, the device cookie. Kept for fraud prevention;
    ``accounts.selectors.accounts_linked`` groups accounts by them."""

    class Kind(models.TextChoices):
        SIGNUP_IP = "signup_ip", _("Sign-up IP")
        CARD = "card", _("Card fingerprint")
        DEVICE = "device", _("Device cookie")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="account_signal_once"),
        ]
        indexes = [models.Index(fields=["kind", "value"], name="account_signal_value")]

    def __str__(self) -> str:
        return f"{self.user}: {self.get_kind_display()}"
