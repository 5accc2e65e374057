"""R-PRV-3: a customer's copy of their data, correction and deletion requests.

``data_export_request`` queues ``data_export_build`` (Celery), which writes one JSON file per
kind of data into a ZIP, noting its progress on the ``DataExport`` row. The archive is
downloaded through a signed link that expires (``data_export_token`` / ``data_export_for_token``).

``account_erase`` carries out a deletion: what need not be kept is deleted or anonymised (the
user row keeps its id, so the ledger, orders and payments stay whole for accounting and fraud
rules); the account is closed, its API key revoked, every session ended.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from smmpanel.exceptions import DomainError

from .models import Acceptance, DataExport, PrivacyRequest
from .selectors import account_held

logger = logging.getLogger(__name__)
TOKEN_SALT = "legal.data_export"  # noqa: S105 - a signing salt, not a secret


class PrivacyRefused(DomainError):  # noqa: N818 - named for the domain
    """That privacy request cannot be carried out now."""


# --- export ------------------------------------------------------------------------------------
def data_export_request(*, user) -> DataExport:
    """Queue a new archive of ``user``'s data; one being prepared is returned as it is."""
    from .tasks import data_export_build_task

    with transaction.atomic():
        running = (
            DataExport.objects.select_for_update()
            .filter(user=user, status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING])
            .first()
        )
        if running is not None:
            return running
        export = DataExport.objects.create(user=user, progress="Waiting for a worker.")
        data_export_build_task.delay_on_commit(export.pk)
    return export


def _profile(user) -> list[dict]:
    from allauth.account.models import EmailAddress

    return [
        {
            "id": user.pk,
            "username": user.username,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "date_joined": user.date_joined,
            "last_login": user.last_login,
            "status": user.status,
            "adult_confirmed_at": user.adult_confirmed_at,
            "email_addresses": list(
                EmailAddress.objects.filter(user=user).values("email", "verified", "primary")
            ),
        }
    ]


ORDER_FIELDS = [
    "id", "created_at", "completed_at", "service_id", "service_name", "service_type", "link",
    "quantity", "rate", "charge", "paid_promotional", "paid_deposited", "refunded",
    "start_count", "remains", "status", "source", "extra",
]  # fmt: skip


def _orders(user):
    from orders.models import Order

    return Order.objects.filter(user=user).order_by("pk").values(*ORDER_FIELDS).iterator(2000)


def _balance_history(user):
    from billing.models import Entry

    return (
        Entry.objects.filter(account__user=user)
        .order_by("pk")
        .values(
            "id",
            "amount",
            "balance_after",
            "account__kind",
            "transaction__created_at",
            "transaction__reason",
            "transaction__memo",
            "transaction__ref_kind",
            "transaction__ref_id",
        )
        .iterator(2000)
    )


def _deposits(user):
    from billing.models import Deposit

    return (
        Deposit.objects.filter(user=user)
        .order_by("pk")
        .values("id", "created_at", "credited_at", "method", "amount", "fee", "status", "memo")
    )


def _sign_ins(user):
    from accounts.models import SignIn

    return SignIn.objects.filter(user=user).values("at", "ip_address", "country")


def _acceptances(user):
    return Acceptance.objects.filter(user=user).values(
        "document__kind", "document__version", "document__title", "accepted_at", "ip_address"
    )


def _notices(user):
    from accounts.models import Notice

    return Notice.objects.filter(user=user).values("created_at", "kind", "subject", "body", "url")


def _nest(rows: list[dict], children, *, parent_key: str, name: str, pop_id: bool = False):
    """Put each row of ``children`` (dicts) under its parent row's ``name``, matched by the
    child's ``parent_key`` and the parent's ``id``; one query for all of them."""
    by_parent: dict[int, list] = {row["id"]: [] for row in rows}
    for child in children:
        by_parent[child.pop(parent_key)].append(child)
    for row in rows:
        row[name] = by_parent[row.pop("id") if pop_id else row["id"]]
    return rows


def _withdrawals(user) -> list[dict]:
    """Withdrawals and refunds to a card (R-WDR-*), each with its payouts to the original
    payments; who on the staff handled them is left out."""
    from billing.models import Withdrawal, WithdrawalRefund

    rows = list(
        Withdrawal.objects.filter(user=user)
        .order_by("pk")
        .values(
            "id", "kind", "status", "created_at", "updated_at", "deposited", "fee_percent",
            "fee", "deposit_fees", "promo_deducted", "amount", "paid_amount",
            "requires_verification", "verified_at", "reference", "failure_message",
        )
    )  # fmt: skip
    payouts = (
        WithdrawalRefund.objects.filter(withdrawal__user=user)
        .order_by("pk")
        .values("withdrawal_id", "deposit_id", "amount", "succeeded", "created_at")
    )
    return _nest(rows, payouts, parent_key="withdrawal_id", name="payouts")


def _refills(user):
    from orders.models import Refill

    return (
        Refill.objects.filter(user=user)
        .order_by("pk")
        .values(
            "id", "order_id", "status", "reason", "created_at", "updated_at", "completed_at",
            "current_count",
        )
    )  # fmt: skip


def _subscriptions(user) -> list[dict]:
    """Subscription orders' schedules with the cycles that ran (R-ORD-11)."""
    from orders.models import Subscription, SubscriptionCycle

    rows = list(
        Subscription.objects.filter(order__user=user)
        .order_by("pk")
        .values(
            "id", "order_id", "username", "min_quantity", "max_quantity", "posts", "old_posts",
            "delay", "expiry", "state", "posts_done", "next_cycle_at", "created_at",
            "updated_at",
        )
    )  # fmt: skip
    cycles = (
        SubscriptionCycle.objects.filter(subscription__order__user=user)
        .order_by("subscription_id", "number")
        .values("subscription_id", "number", "ran_at", "outcome", "order_id", "note")
    )
    return _nest(rows, cycles, parent_key="subscription_id", name="cycles")


def _referrals(user) -> dict:
    """The affiliate program (R-PRO-3): the customer's link, the sign-ups through it with the
    commissions earned, and how the customer came. The other customers (who was referred,
    who referred) are theirs, not this customer's, and are left out."""
    from billing.models import AffiliateLink, Commission, Referral

    link = AffiliateLink.objects.filter(user=user).values("code", "created_at").first()
    referred = list(
        Referral.objects.filter(referrer=user).order_by("pk").values("id", "created_at")
    )
    commissions = (
        Commission.objects.filter(referral__referrer=user)
        .order_by("pk")
        .values("referral_id", "created_at", "amount", "clawed_back", "status", "refusal_reason")
    )
    _nest(referred, commissions, parent_key="referral_id", name="commissions", pop_id=True)
    came = Referral.objects.filter(referred=user).values("created_at", "signup_ip").first()
    return {"affiliate_link": link, "sign_ups_you_referred": referred, "you_were_referred": came}


def _support_models() -> list[type[models.Model]]:
    """The support app's models, whatever they are (the desk is built separately)."""
    if not apps.is_installed("support"):
        return []
    return list(apps.get_app_config("support").get_models())


OWNER_FIELDS = {"user", "customer", "owner"}
AUTHOR_FIELDS = {"author", "reporter", "sender", "created_by"}
STAFF_ONLY_FIELDS = ("staff_only", "internal", "is_internal")


def _user_path(model, depth: int = 0) -> str | None:
    """The lookup from ``model`` to the customer it belongs to: its owner (``user``), else
    through its parents in the support app (a message's ticket, an attachment's message's
    ticket: staff's answers are the customer's too), else its author."""
    foreign_keys = [f for f in model._meta.get_fields() if isinstance(f, models.ForeignKey)]
    for field in foreign_keys:
        if _is_user_model(field.related_model) and field.name in OWNER_FIELDS:
            return field.name
    if depth < 2:
        for field in foreign_keys:
            parent = field.related_model
            if (
                not isinstance(parent, str)
                and not _is_user_model(parent)
                and parent._meta.app_label == model._meta.app_label
            ):
                path = _user_path(parent, depth=depth + 1)
                if path:
                    return f"{field.name}__{path}"
    for field in foreign_keys:
        if _is_user_model(field.related_model) and field.name in AUTHOR_FIELDS:
            return field.name
    return None


def _staff_only_lookups(model, path: str) -> list[str]:
    """The staff-only flags of ``model`` and of its parents along ``path`` (an internal
    note's attachment is staff's as much as the note)."""
    lookups, prefix = [], ""
    for step in path.split("__"):
        names = {f.name for f in model._meta.fields}
        lookups += [prefix + hidden for hidden in STAFF_ONLY_FIELDS if hidden in names]
        model = model._meta.get_field(step).related_model
        prefix += f"{step}__"
    return lookups


def _is_user_model(related) -> bool:
    label = related if isinstance(related, str) else related._meta.label
    return label.lower() == settings.AUTH_USER_MODEL.lower()


def _tickets(user, archive: zipfile.ZipFile) -> dict:
    """Every support model's rows of ``user`` (tickets, messages, attachments with files)."""
    out: dict = {}
    for model in _support_models():
        path = _user_path(model)
        if path is None:
            continue
        file_fields = [f.name for f in model._meta.fields if isinstance(f, models.FileField)]
        rows = []
        rows_of_user = model.objects.filter(**{path: user})
        for hidden in _staff_only_lookups(model, path):  # staff notes are not the customer's
            rows_of_user = rows_of_user.exclude(**{hidden: True})
        for obj in rows_of_user.order_by("pk"):
            row = {
                f.attname: getattr(obj, f.attname)
                for f in model._meta.fields
                if not isinstance(f, models.FileField)
            }
            for name in file_fields:
                stored = getattr(obj, name)
                if stored:
                    target = (
                        f"attachments/{model._meta.model_name}-{obj.pk}-{name}-"
                        + (stored.name.rsplit("/", 1)[-1])
                    )
                    try:
                        with stored.open("rb") as handle:
                            archive.writestr(target, handle.read())
                        row[name] = target
                    except OSError:
                        row[name] = None
            rows.append(row)
        out[model._meta.model_name] = rows
    return out


KINDS = [
    ("profile", _profile),
    ("orders", _orders),
    ("balance_history", _balance_history),
    ("deposits", _deposits),
    ("sign_ins", _sign_ins),
    ("acceptances", _acceptances),
    ("notices", _notices),
    ("withdrawals", _withdrawals),
    ("refills", _refills),
    ("subscriptions", _subscriptions),
    ("referrals", _referrals),
]
README = """Your data at {site}, exported {when} (UTC).

One JSON file per kind: profile, orders, balance_history, deposits, tickets (with the files
attached to them under attachments/), sign_ins, acceptances (of our legal documents), notices,
withdrawals (and refunds to your card), refills, subscriptions (with their cycles) and
referrals (your referral link, the sign-ups through it and their commissions).
Amounts are USD as exact decimal strings; times are ISO 8601 in UTC.
"""


def _write(archive: zipfile.ZipFile, name: str, rows) -> None:
    data = json.dumps(list(rows) if not isinstance(rows, dict) else rows,
                      cls=DjangoJSONEncoder, indent=1, ensure_ascii=False)  # fmt: skip
    archive.writestr(f"{name}.json", data)


def _progress(export: DataExport, text: str) -> None:
    DataExport.objects.filter(pk=export.pk).update(progress=text[:200])


def data_export_build(*, export_id: int) -> DataExport | None:
    """Build the archive of a queued export (safe to run twice: a built one is left alone)."""
    with transaction.atomic():
        export = (
            DataExport.objects.select_for_update(skip_locked=True)
            .select_related("user")
            .filter(pk=export_id, status=DataExport.Status.PENDING)
            .first()
        )
        if export is None:
            return None
        export.status = DataExport.Status.RUNNING
        export.save(update_fields=["status"])
    user = export.user
    buffer = io.BytesIO()
    total = len(KINDS) + 1
    try:
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "README.txt", README.format(site=settings.SITE_NAME, when=timezone.now())
            )
            for number, (name, reader) in enumerate(KINDS, start=1):
                _progress(export, f"Collecting {name.replace('_', ' ')} ({number} of {total}).")
                _write(archive, name, reader(user))
            _progress(export, f"Collecting tickets ({total} of {total}).")
            _write(archive, "tickets", _tickets(user, archive))
    except Exception:
        logger.exception("data export %s failed", export_id)
        DataExport.objects.filter(pk=export.pk).update(
            status=DataExport.Status.FAILED, progress="Failed; please ask again.",
            finished_at=timezone.now(),
        )  # fmt: skip
        raise
    content = buffer.getvalue()
    DataExport.objects.filter(pk=export.pk).update(
        status=DataExport.Status.READY, archive=content, size=len(content),
        progress="Ready to download.", finished_at=timezone.now(),
    )  # fmt: skip
    export.refresh_from_db()
    return export


def data_export_token(*, export: DataExport) -> str:
    return signing.TimestampSigner(salt=TOKEN_SALT).sign(f"{export.pk}.{export.user_id}")


def data_export_for_token(*, user, token: str) -> DataExport:
    """The ready export a link points to; ``DataExport.DoesNotExist`` when the link is
    forged, expired (``PRIVACY_EXPORT_LINK_HOURS``) or someone else's."""
    max_age = settings.PRIVACY_EXPORT_LINK_HOURS * 3600
    try:
        value = signing.TimestampSigner(salt=TOKEN_SALT).unsign(token, max_age=max_age)
        export_id, user_id = (int(part) for part in value.split("."))
    except (signing.BadSignature, ValueError):
        raise DataExport.DoesNotExist from None
    if user_id != user.pk:
        raise DataExport.DoesNotExist
    return DataExport.objects.get(pk=export_id, user=user, status=DataExport.Status.READY)


def data_exports_purge(*, now=None) -> int:
    """Delete archives whose links have expired (the data is in the panel anyway)."""
    from datetime import timedelta

    cutoff = (now or timezone.now()) - timedelta(hours=settings.PRIVACY_EXPORT_LINK_HOURS)
    deleted, _ = DataExport.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- correction and deletion -------------------------------------------------------------------
def correction_request(*, user, text: str) -> PrivacyRequest:
    """The customer asks staff to correct something (R-PRV-3); staff answer it."""
    from accounts.notices import notice_text
    from accounts.services import notice_send

    text = (text or "").strip()
    if not text:
        raise PrivacyRefused(gettext("Say what is wrong and what it should be."))
    with transaction.atomic():
        request = PrivacyRequest.objects.create(
            user=user, kind=PrivacyRequest.Kind.CORRECTION, text=text[:5000]
        )
        notice_send(
            user=user, kind="privacy_request",
            subject=notice_text(gettext_noop("We received your correction request")),
            body=notice_text(gettext_noop("Our staff will correct your data or tell you why not.")),
            email=False,
        )  # fmt: skip
    return request


def _abuse_reports_anonymise(*, user, emails: set[str]) -> None:
    """The abuse reports ``user`` sent (signed in, or signed out with one of their addresses)
    keep what was reported, not who reported it: email and IP go (R-PRV-3)."""
    if not apps.is_installed("support"):
        return
    report_model = apps.get_model("support", "AbuseReport")
    match = models.Q(reporter=user)
    for email in filter(None, emails):
        match |= models.Q(email__iexact=email)
    report_model.objects.filter(match).update(email="", ip_address=None)


def account_erase(*, user, actor=None) -> PrivacyRequest:
    """Delete or anonymise what need not be kept (R-PRV-3).

    Kept, for accounting, fraud and legal rules: the user row (anonymised), orders, the ledger,
    deposits, withdrawals and refunds, refills, subscriptions, referrals and commissions (the
    sign-up IP removed), acceptances of the Terms (without the IP), linked-account signals (the
    fraud traces of R-ACC-4), holds, and support tickets with their messages and attachments
    (the record of what was asked and decided). Deleted: sign-ins, notices, data exports, email
    addresses, second factors. Abuse reports the customer sent keep their substance, without
    the reporter's email and IP. The Privacy page says the same. The account is closed, its
    API key revoked, its password unusable (every session ends at its next request).
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    from accounts.models import Notice, SignIn, User
    from accounts.services import _account_status_set, api_key_revoke
    from billing.models import Referral
    from orders.models import ACTIVE_STATUSES, Order

    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if account_held(user=user):
            raise PrivacyRefused(
                gettext(
                    "Your account is under review; your data can be deleted once the review ends."
                )
            )
        if Order.objects.filter(user=user, status__in=ACTIVE_STATUSES).exists():
            raise PrivacyRefused(
                gettext("You have orders in progress: delete your data once they have finished.")
            )
        request = PrivacyRequest.objects.create(
            user=user, kind=PrivacyRequest.Kind.DELETION, status=PrivacyRequest.Status.DONE,
            handled_at=timezone.now(), handled_by=actor,
        )  # fmt: skip
        if user.status != User.Status.CLOSED:
            _account_status_set(
                user=user, status=User.Status.CLOSED,
                reason="Data deleted at the customer's request (R-PRV-3).", actor=actor,
            )  # fmt: skip
            user.refresh_from_db()
        api_key_revoke(user=user)
        addresses = EmailAddress.objects.filter(user=user).values_list("email", flat=True)
        emails = {user.email, *addresses}
        _abuse_reports_anonymise(user=user, emails=emails)
        Referral.objects.filter(referred=user).update(signup_ip=None)
        SignIn.objects.filter(user=user).delete()
        Notice.objects.filter(user=user).delete()
        DataExport.objects.filter(user=user).delete()
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        Acceptance.objects.filter(user=user).update(ip_address=None)
        user.username = f"erased-{user.pk}"
        user.email = f"erased-{user.pk}@erased.invalid"
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
    return request


def privacy_request_close(*, request: PrivacyRequest, actor) -> PrivacyRequest:
    """Staff answered a correction request (they correct the data in the admin)."""
    PrivacyRequest.objects.filter(pk=request.pk, status=PrivacyRequest.Status.OPEN).update(
        status=PrivacyRequest.Status.DONE, handled_at=timezone.now(), handled_by=actor
    )
    request.refresh_from_db()
    return request
