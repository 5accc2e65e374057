"""Dormancy (R-DOR-1..7), run daily by ``billing.dormancy_run``.

An account is inactive 12 months after its last sign-in, deposit or order
(``User.last_activity_at``, kept by those services). Verified addresses get a notice 14 days
before the freeze; at the freeze Deposited Funds move to the customer's Frozen account and
Promotional Credit is forfeited (R-DOR-3); under 1,000 USD they are forfeited 6 months later
(notice 14 days before, R-DOR-4), from 1,000 USD they can be restored on request for 18 months
and are forfeited after (R-DOR-5). The Affiliate balance is earned money, not Promotional
Credit (R-BAL-2 names what the panel grants; R-DOR-3 forfeits only that), so it is frozen,
counted and forfeited with the Deposited Funds, and a restore returns it to where it was.
What is owed is never touched (R-DOR-6). A notice counts once its mail is sent (R-DOR-7): a
step that follows a notice waits 14 days from the mail.

Each spell of inactivity is one ``DormancyCase`` (unique per user and last activity, so a
notice is never sent twice), a due row claimed with SKIP LOCKED. A customer has at most one
open (noticed or frozen) case: the next spell's case waits until it is forfeited or restored."""

from __future__ import annotations

from datetime import datetime, timedelta

from allauth.account.models import EmailAddress
from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop

from accounts.notices import notice_text
from billing.exceptions import DormancyRefused
from billing.models import Account, DormancyCase, RefKind, TransactionReason
from billing.money import usd_text

from .ledger import _customer_accounts_locked, _post, _system_account
from .states import dormancy_transition

Kind = Account.Kind
State = DormancyCase.State
OPEN = (State.NOTICED, State.FROZEN)


def _verified(user) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def _notice(user, *, kind: str, subject: Promise, body: Promise):
    """A dormancy notice, written in the customer's language (``accounts.notices``)."""
    from accounts.services import notice_send

    return notice_send(
        user=user, kind=kind, subject=subject, body=body, url=reverse("billing:history")
    )


def _step_at(*, planned: datetime, notice, user) -> datetime | None:
    """When a step that follows a notice may happen (R-DOR-7): ``planned``, but never sooner
    than the notice period after the mail went; None while a verified address's mail waits."""
    if notice is None or not _verified(user):
        return planned
    if notice.emailed_at is None:
        return None
    return max(planned, notice.emailed_at + timedelta(days=settings.DORMANCY_NOTICE_DAYS))


def _cases_open(now: datetime) -> int:
    """Open a case (and send the freeze notice) for each account 14 days from inactivity."""
    User = get_user_model()
    cutoff = (
        now
        - relativedelta(months=settings.DORMANCY_INACTIVE_MONTHS)
        + timedelta(days=settings.DORMANCY_NOTICE_DAYS)
    )
    has_money = Account.objects.filter(
        user=OuterRef("pk"),
        kind__in=[Kind.DEPOSITED, Kind.PROMOTIONAL, Kind.AFFILIATE],
        balance__gt=0,
    )
    users = (
        User.objects.filter(is_staff=False, status=User.Status.ACTIVE)
        .annotate(activity=Coalesce("last_activity_at", "date_joined"))
        .filter(activity__lte=cutoff)
        .filter(Exists(has_money))
        .exclude(
            Exists(
                DormancyCase.objects.filter(user=OuterRef("pk"), activity_at=OuterRef("activity"))
            )
        )
        # One open case per customer (and the constraint says so): their frozen funds sit in
        # one Dormant account, which a second case would share and forfeit or restore with
        # the first's. A new spell waits until the frozen case is forfeited or restored.
        .exclude(Exists(DormancyCase.objects.filter(user=OuterRef("pk"), state__in=OPEN)))
        .order_by("pk")[: settings.DORMANCY_BATCH]
    )
    opened = 0
    for user in users:
        freeze_at = user.activity + relativedelta(months=settings.DORMANCY_INACTIVE_MONTHS)
        try:
            with transaction.atomic():
                case = DormancyCase.objects.create(
                    user=user, activity_at=user.activity, freeze_at=freeze_at, next_due_at=freeze_at
                )
                case.freeze_notice = _notice(
                    user,
                    kind="dormancy_freeze",
                    subject=notice_text(gettext_noop("Your balance will be frozen for inactivity")),
                    body=notice_text(
                        gettext_noop(
                            "Your account has had no sign-in, deposit or order since %(since)s. "
                            "On %(date)s its balance will be frozen and Promotional Credit "
                            "forfeited. Sign in to keep it active."
                        ),
                        since=f"{user.activity:%Y-%m-%d}",
                        date=f"{freeze_at:%Y-%m-%d}",
                    ),
                )
                case.save(update_fields=["freeze_notice"])
                case.events.create(new_state=State.NOTICED, cause="schedule")
        except IntegrityError:  # another run opened one first: never twice (R-DOR-7)
            continue
        opened += 1
    return opened


def _freeze(case: DormancyCase, now: datetime) -> None:
    user = case.user
    activity = user.last_activity_at or user.date_joined
    if activity > case.activity_at:  # active again since: nothing happens
        case.next_due_at = None
        dormancy_transition(case=case, new=State.LAPSED, cause="activity", fields=["next_due_at"])
        return
    at = _step_at(planned=case.freeze_at, notice=case.freeze_notice, user=user)
    if at is None or at > now:
        case.next_due_at = at or now + timedelta(days=1)
        case.save(update_fields=["next_due_at"])
        return
    accounts = _customer_accounts_locked(user, extra=(Kind.DORMANT, Kind.AFFILIATE))
    deposited = accounts[Kind.DEPOSITED].balance
    affiliate = accounts[Kind.AFFILIATE].balance
    promotional = accounts[Kind.PROMOTIONAL].balance
    if deposited or affiliate or promotional:
        _post(
            user=user,
            reason=TransactionReason.FREEZE,
            memo=(
                f"Balance frozen after {settings.DORMANCY_INACTIVE_MONTHS} months of inactivity: "
                f"Deposited Funds {usd_text(deposited)} frozen, "
                + (f"Affiliate balance {usd_text(affiliate)} frozen, " if affiliate else "")
                + f"Promotional Credit {usd_text(promotional)} forfeited"
            ),
            ref_kind=RefKind.DORMANCY,
            ref_id=case.pk,
            idempotency_key=f"dormancy:{case.pk}:freeze",
            legs=[
                (accounts[Kind.DEPOSITED], -deposited),
                (accounts[Kind.AFFILIATE], -affiliate),
                (accounts[Kind.DORMANT], deposited + affiliate),
                (accounts[Kind.PROMOTIONAL], -promotional),  # R-DOR-3
                (_system_account(Kind.FORFEITURES), promotional),
            ],
        )
    frozen = deposited + affiliate  # R-DOR-4/5's threshold: the earned money frozen
    months = (
        settings.DORMANCY_SMALL_FORFEIT_MONTHS
        if frozen < settings.DORMANCY_LARGE_BALANCE
        else settings.DORMANCY_LARGE_RESTORE_MONTHS
    )
    case.frozen_at = now
    case.frozen_deposited = deposited
    case.frozen_affiliate = affiliate
    case.promo_forfeited = promotional
    case.forfeit_at = now + relativedelta(months=months)
    case.next_due_at = (
        case.forfeit_at - timedelta(days=settings.DORMANCY_NOTICE_DAYS) if frozen else None
    )
    dormancy_transition(
        case=case,
        new=State.FROZEN,
        cause="schedule",
        fields=[
            "frozen_at",
            "frozen_deposited",
            "frozen_affiliate",
            "promo_forfeited",
            "forfeit_at",
            "next_due_at",
        ],
    )


def _frozen_text(case: DormancyCase, amount=None) -> str:
    """What the case froze, for the ledger's memos: "Deposited Funds $X", naming the
    Affiliate balance too when one was frozen."""
    total = case.frozen_deposited + case.frozen_affiliate if amount is None else amount
    if case.frozen_affiliate:
        return f"Deposited Funds and Affiliate balance {usd_text(total)}"
    return f"Deposited Funds {usd_text(total)}"


def _forfeit_notice_body(case: DormancyCase) -> Promise:
    params = {
        "amount": usd_text(case.frozen_deposited + case.frozen_affiliate),
        "date": f"{case.forfeit_at:%Y-%m-%d}",
    }
    if case.frozen_affiliate:
        message = gettext_noop(
            "Your frozen Deposited Funds and Affiliate balance of %(amount)s will be forfeited "
            "on %(date)s. Sign in and ask to restore them before then."
        )
    else:
        message = gettext_noop(
            "Your frozen Deposited Funds of %(amount)s will be forfeited on %(date)s. Sign in "
            "and ask to restore them before then."
        )
    return notice_text(message, **params)


def _forfeit_step(case: DormancyCase, now: datetime) -> None:
    user = case.user
    forfeit_at = case.forfeit_at or now  # set at the freeze; a case here always has it
    if case.forfeit_notice is None:
        case.forfeit_notice = _notice(
            user,
            kind="dormancy_forfeit",
            subject=notice_text(gettext_noop("Your frozen balance will be forfeited")),
            body=_forfeit_notice_body(case),
        )
        case.next_due_at = max(forfeit_at, now)
        case.save(update_fields=["forfeit_notice", "next_due_at"])
        return
    at = _step_at(planned=forfeit_at, notice=case.forfeit_notice, user=user)
    if at is None or at > now:
        case.next_due_at = at or now + timedelta(days=1)
        case.save(update_fields=["next_due_at"])
        return
    accounts = _customer_accounts_locked(user, extra=(Kind.DORMANT,))
    frozen = accounts[Kind.DORMANT].balance
    if frozen:
        _post(
            user=user,
            reason=TransactionReason.FORFEIT,
            memo=f"Frozen {_frozen_text(case, frozen)} forfeited after dormancy",
            ref_kind=RefKind.DORMANCY,
            ref_id=case.pk,
            idempotency_key=f"dormancy:{case.pk}:forfeit",
            legs=[(accounts[Kind.DORMANT], -frozen), (_system_account(Kind.FORFEITURES), frozen)],
        )
    case.forfeited_at = now
    case.forfeited = frozen
    case.next_due_at = None
    dormancy_transition(
        case=case,
        new=State.FORFEITED,
        cause="schedule",
        fields=["forfeited_at", "forfeited", "next_due_at"],
    )


def dormancy_run(*, now: datetime | None = None) -> dict[str, int]:
    """The daily job: open the cases now due a notice, then move every due case one step."""
    now = now or timezone.now()
    opened = _cases_open(now)
    moved = 0
    while True:
        with transaction.atomic():
            case = (
                DormancyCase.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("user", "freeze_notice", "forfeit_notice")
                .filter(next_due_at__lte=now, state__in=[State.NOTICED, State.FROZEN])
                .order_by("next_due_at", "pk")
                .first()
            )
            if case is None:
                break
            before = (case.state, case.next_due_at)
            if case.state == State.NOTICED:
                _freeze(case, now)
            else:
                _forfeit_step(case, now)
            moved += 1
        if (case.state, case.next_due_at) == before or moved > settings.DORMANCY_BATCH * 10:
            break
    return {"opened": opened, "moved": moved}


def _restore(case: DormancyCase, *, actor, reason: str, cause: str) -> None:
    user = case.user
    accounts = _customer_accounts_locked(user, extra=(Kind.DORMANT, Kind.AFFILIATE))
    if case.state == State.FROZEN:
        amount = accounts[Kind.DORMANT].balance
        counter = accounts[Kind.DORMANT]
    else:
        amount = case.forfeited
        counter = _system_account(Kind.FORFEITURES)
    affiliate = min(case.frozen_affiliate, amount)  # each part back where it was frozen from
    if amount:
        _post(
            user=user,
            reason=TransactionReason.RESTORE,
            memo=f"Frozen {_frozen_text(case, amount)} restored"
            + (f": {reason}" if reason else ""),
            ref_kind=RefKind.DORMANCY,
            ref_id=case.pk,
            actor=actor,
            idempotency_key=f"dormancy:{case.pk}:restore",
            legs=[
                (counter, -amount),
                (accounts[Kind.DEPOSITED], amount - affiliate),
                (accounts[Kind.AFFILIATE], affiliate),
            ],
        )
    case.next_due_at = None
    dormancy_transition(
        case=case, new=State.RESTORED, cause=cause, actor=actor, note=reason, fields=["next_due_at"]
    )


def dormancy_restore_request(*, user, now: datetime | None = None) -> DormancyCase:
    """The customer asks for the frozen Deposited Funds back, within the window (R-DOR-4/5);
    Promotional Credit forfeited at the freeze stays forfeited (R-DOR-3)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = (
            DormancyCase.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user=user, state=State.FROZEN)
            .first()
        )
        if case is None:
            raise DormancyRefused(gettext("Your balance is not frozen."))
        if case.forfeit_at and now >= case.forfeit_at:
            raise DormancyRefused(
                gettext("The time to restore it has passed; please contact support.")
            )
        _restore(case, actor=None, reason="", cause="customer")
    from accounts.services import user_activity_touch

    user_activity_touch(user=user, now=now)
    return case


def dormancy_restore_goodwill(*, case_id: int, actor, reason: str) -> DormancyCase:
    """Staff restore frozen or forfeited funds as a goodwill action, with a reason (R-DOR-4)."""
    if not reason.strip():
        raise DormancyRefused("Give the reason.")
    with transaction.atomic():
        case = (
            DormancyCase.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=case_id)
        )
        if case.state not in (State.FROZEN, State.FORFEITED):
            raise DormancyRefused("Only frozen or forfeited funds can be restored.")
        _restore(case, actor=actor, reason=reason.strip(), cause="staff")
    return case


def dormancy_frozen_case(*, user) -> DormancyCase | None:
    return DormancyCase.objects.filter(user=user, state=State.FROZEN).first()
