import ipaddress
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_noop

from legal.models import Document
from legal.services import acceptance_record
from smmpanel.readcache import stamp_bump

from . import apikeys
from .exceptions import AccountStatusRefused
from .geo import ip_country
from .models import AccountSignal, AccountStatusChange, ApiKey, Notice, NoticeMailOff, SignIn, User
from .notices import notice_text


def user_signup_complete(
    *,
    user,
    terms: Document,
    ip_address: str | None,
    device: str | None = None,
    language: str = "",
) -> None:
    """Record the 18+ confirmation and the accepted Terms version with time (R-ACC-1), and the
    sign-up IP and device that link accounts of one person (R-ACC-4). ``language`` is the one
    the sign-up page was shown in: the customer's notices are written in it (issue 14)."""
    with transaction.atomic():
        user.adult_confirmed_at = timezone.now()
        user.language = _language_supported(language)
        user.save(update_fields=["adult_confirmed_at", "language"])
        acceptance_record(user=user, document=terms, ip_address=ip_address)
        if ip_address and ipaddress.ip_address(ip_address).is_global:
            account_signal_record(user=user, kind=AccountSignal.Kind.SIGNUP_IP, value=ip_address)
        if device:
            account_signal_record(user=user, kind=AccountSignal.Kind.DEVICE, value=device)
        _linked_limit_check(user=user)


def _linked_limit_check(*, user) -> None:
    """R-ACC-4: past ``ACCOUNTS_LINKED_LIMIT`` linked accounts, a new account waits on hold
    for staff approval (asked for through a ticket) before it can order."""
    from legal.services import account_hold

    from .selectors import accounts_linked_over_limit

    if accounts_linked_over_limit(user=user):
        account_hold(
            user=user,
            reason=f"More than {settings.ACCOUNTS_LINKED_LIMIT} linked accounts: staff approval "
            "is needed (R-ACC-4).",
            actor=None,
        )
        notice_send(
            user=user, kind="linked_accounts",
            subject=notice_text(gettext_noop("Your account needs approval")),
            body=notice_text(gettext_noop(
                "You have more linked accounts than we allow without approval. Open a ticket "
                "and tell us about your agency or reseller business; ordering is paused until "
                "then."
            )),
        )  # fmt: skip


def account_signal_record(*, user, kind: str, value: str) -> None:
    """Remember a trace ``user`` leaves (R-ACC-4); billing calls it with a card's fingerprint
    (``kind=AccountSignal.Kind.CARD``). Idempotent."""
    value = (value or "").strip()[:128]
    if value:
        AccountSignal.objects.bulk_create(
            [AccountSignal(user=user, kind=kind, value=value)], ignore_conflicts=True
        )


def sign_in_record(*, user, ip_address: str | None, device: str | None = None) -> SignIn:
    """Record a sign-in with its IP and country (R-PRV-1) and the device cookie (R-ACC-4)."""
    with transaction.atomic():
        sign_in = SignIn.objects.create(
            user=user, at=timezone.now(), ip_address=ip_address, country=ip_country(ip_address)
        )
        if device:
            account_signal_record(user=user, kind=AccountSignal.Kind.DEVICE, value=device)
    return sign_in


def sign_ins_purge(*, now=None) -> int:
    """Delete sign-in records older than ``PRIVACY_SIGNIN_RETENTION_DAYS`` (R-PRV-1)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.PRIVACY_SIGNIN_RETENTION_DAYS)
    deleted, _ = SignIn.objects.filter(at__lt=cutoff).delete()
    return deleted


# R-DOR-1 counts inactivity in months: activity is recorded to the hour, so a busy account
# (an API reseller's many orders a minute) does not rewrite (and lock) its user row on every
# order; the condition is in the UPDATE, as the row in memory may be older or newer.
ACTIVITY_PRECISION = timedelta(hours=1)


def user_activity_touch(*, user, now=None) -> None:
    """Record a sign-in, deposit or order: what keeps an account from dormancy (R-DOR-1)."""
    now = now or timezone.now()
    recent = Q(last_activity_at__gt=now - ACTIVITY_PRECISION, last_activity_at__lte=now)
    User.objects.filter(pk=user.pk).exclude(recent).update(last_activity_at=now)
    user.last_activity_at = now


def api_key_issue(*, user) -> tuple[ApiKey, str]:
    """Issue a new API key for ``user``, revoking the active one at once (R-KEY-1, R-KEY-2).

    Returns the stored key and its plaintext, which is never stored and must be shown
    to the customer now or never.
    """
    plaintext = apikeys.key_generate()
    with transaction.atomic():
        api_keys_uncache(user=user)  # the old key stops at once (R-KEY-2)
        ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
        api_key = ApiKey.objects.create(
            user=user,
            prefix=plaintext[: apikeys.PREFIX_LENGTH],
            digest=apikeys.key_digest(plaintext),
        )
    return api_key, plaintext


def api_key_revoke(*, user) -> None:
    with transaction.atomic():
        api_keys_uncache(user=user)
        ApiKey.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_keys_uncache(*, user) -> None:
    """The next request with any of ``user``'s active keys reads the database again: called
    by every write of a key or of the account's standing (smmpanel.readcache)."""
    from .selectors import api_key_stamp

    digests = ApiKey.objects.filter(user=user, revoked_at__isnull=True).values_list(
        "digest", flat=True
    )
    stamp_bump(*(api_key_stamp(digest) for digest in digests))


def _account_status_set(*, user, status: str, reason: str, actor) -> AccountStatusChange:
    reason = (reason or "").strip()
    if not reason:
        raise AccountStatusRefused("Give the reason; it is kept with the account.")
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.status == User.Status.CLOSED:
            raise AccountStatusRefused("A closed account stays closed.")
        if user.status == status:
            raise AccountStatusRefused(f"The account is already {user.get_status_display()}.")
        change = AccountStatusChange.objects.create(
            user=user, old_status=user.status, new_status=status, reason=reason, actor=actor
        )
        user.status = status
        user.status_reason = reason
        user.save(update_fields=["status", "status_reason"])
        api_keys_uncache(user=user)  # a suspended or closed account's key stops at once
    return change


def account_suspend(*, user, reason: str, actor) -> AccountStatusChange:
    """Suspend an account (R-ACC-5): no sign-in to order, its API key refused, its orders that
    no provider has yet held; the reason is logged. Reversible with ``account_reinstate``."""
    return _account_status_set(user=user, status=User.Status.SUSPENDED, reason=reason, actor=actor)


def account_terminate(*, user, reason: str, actor) -> AccountStatusChange:
    """Close an account for good by staff decision (R-ACC-5); the reason is logged."""
    return _account_status_set(user=user, status=User.Status.CLOSED, reason=reason, actor=actor)


def account_reinstate(*, user, reason: str, actor) -> AccountStatusChange:
    """Lift a suspension (R-ACC-5): held orders go on, the existing API key works again."""
    from orders.services import orders_release_held

    change = _account_status_set(user=user, status=User.Status.ACTIVE, reason=reason, actor=actor)
    orders_release_held(user=user)
    return change


def _language_supported(language: str) -> str:
    """``language`` as one of settings.LANGUAGES (``es-AR`` is ``es``), or "" if none fits."""
    try:
        return translation.get_supported_language_variant(language or "")
    except LookupError:
        return ""


def user_language_set(*, user, language: str) -> None:
    """Keep the language the customer chose (the switcher, issue 14): their notices and mails
    are written in it from now on. An unknown language changes nothing."""
    language = _language_supported(language)
    if language and language != user.language:
        user.language = language
        user.save(update_fields=["language"])


def notice_send(
    *,
    user,
    kind: str,
    subject: str | Promise,
    body: str | Promise = "",
    url: str = "",
    email: bool = True,
) -> Notice:
    """Tell ``user`` something: an in-account notice, and a mail sent by Celery after commit.

    ``subject`` and ``body`` are written in the customer's language (``user_language``): pass
    them lazy (``accounts.notices.notice_text`` or ``gettext_lazy``) so that they are
    translated here, not in the language of whoever caused the notice. The mail goes only to
    a verified address (R-ACC-3); the task records when it was sent.
    """
    from .selectors import user_language
    from .tasks import notice_email_task

    with translation.override(user_language(user)):
        subject, body = str(subject)[: Notice._meta.get_field("subject").max_length], str(body)
    notice = Notice.objects.create(user=user, kind=kind, subject=subject, body=body, url=url)
    if email and notice_mail_wanted(user=user, kind=kind):
        notice_email_task.delay_on_commit(notice.id)
    return notice


def notice_mail_wanted(*, user, kind: str) -> bool:
    """Whether the customer lets this kind of notice be mailed (their switch on the account
    page, issue 14); a kind no switch covers, or a required one, is always mailed."""
    from .notices import mail_switch_for

    switch = mail_switch_for(kind)
    if switch is None or switch.required:
        return True
    return not NoticeMailOff.objects.filter(user=user, switch=switch.key).exists()


def notice_mail_set(*, user, switch: str, on: bool) -> None:
    """Turn one mail switch on or off for ``user``; a required switch stays on."""
    from .notices import SWITCHES_BY_KEY

    if switch not in SWITCHES_BY_KEY:
        raise ValueError(f"unknown mail switch: {switch}")
    if on or SWITCHES_BY_KEY[switch].required:
        NoticeMailOff.objects.filter(user=user, switch=switch).delete()
    else:
        NoticeMailOff.objects.get_or_create(user=user, switch=switch)


def notice_email(*, notice_id: int) -> bool:
    """Mail one notice once (safe to run twice); ``True`` when it was sent now."""
    from allauth.account.models import EmailAddress
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from .selectors import user_language

    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update().select_related("user").filter(id=notice_id).first()
        )
        if notice is None or notice.emailed_at is not None:
            return False
        verified = EmailAddress.objects.filter(
            user=notice.user, email__iexact=notice.user.email, verified=True
        ).exists()
        if not verified:
            return False
        link = f"{settings.SITE_URL.rstrip('/')}{notice.url}" if notice.url else ""
        context = {
            "notice": notice,
            "link": link,
            "account_link": f"{settings.SITE_URL.rstrip('/')}{reverse('accounts:overview')}",
            "SITE_NAME": settings.SITE_NAME,
        }
        with translation.override(user_language(notice.user)):  # the mail's own words
            text = render_to_string("accounts/email/notice.txt", context).strip()
            html = render_to_string("accounts/email/notice.html", context)
        prefix = getattr(settings, "ACCOUNT_EMAIL_SUBJECT_PREFIX", "")
        send_mail(prefix + notice.subject, text, None, [notice.user.email], html_message=html)
        notice.emailed_at = timezone.now()
        notice.save(update_fields=["emailed_at"])
    return True


def notices_mark_read(*, user, url: str | None = None) -> int:
    """Mark the user's unread notices read (only those pointing at ``url``, when given)."""
    notices = Notice.objects.filter(user=user, read_at__isnull=True)
    if url is not None:
        notices = notices.filter(url=url)
    return notices.update(read_at=timezone.now())


# --- dashboard (issue 14) ---
def notice_mark_read(*, user, notice_id: int) -> bool:
    """Mark one of the customer's notices read; someone else's notice is left alone."""
    changed = Notice.objects.filter(pk=notice_id, user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
    return changed == 1
