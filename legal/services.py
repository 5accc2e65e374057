from django.db import transaction
from django.utils import timezone

from .exceptions import HoldRefused, PublishRefused
from .models import HOLD_TRANSITIONS, Acceptance, Document, Hold, HoldEvent


def acceptance_record(*, user, document: Document, ip_address: str | None = None) -> Acceptance:
    """Store that ``user`` accepted ``document`` now, with the IP (R-ACC-1, R-LEG-2); idempotent."""
    if not document.is_published:
        raise PublishRefused("Only a published version can be accepted.")
    with transaction.atomic():
        acceptance, _ = Acceptance.objects.get_or_create(
            user=user,
            document=document,
            defaults={"accepted_at": timezone.now(), "ip_address": ip_address},
        )
    return acceptance


def _next_version(kind: str) -> int:
    """The next version number of ``kind``; the caller holds the transaction.

    A transaction-level advisory lock per kind serialises publishers (there may be no row to
    lock yet); the unique (kind, version) constraint is the last word.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"legal.{kind}"])
    last = (
        Document.objects.filter(kind=kind, version__isnull=False)
        .order_by("-version")
        .values_list("version", flat=True)
        .first()
    )
    return (last or 0) + 1


def document_draft_publish(
    *, document: Document, effective_at=None, material: bool | None = None
) -> Document:
    """Publish a draft as the next version of its kind (R-LEG-1): the version number is
    assigned here, the effective date defaults to now, and from now on the row is never
    edited in place. A material Terms version is accepted again at the next sign-in (R-LEG-2).
    """
    with transaction.atomic():
        draft = Document.objects.select_for_update().get(pk=document.pk)
        if draft.is_published:
            raise PublishRefused(f"{draft} is already published; write a new draft instead.")
        if not draft.title.strip() or not draft.body.strip():
            raise PublishRefused("A document needs a title and a text to be published.")
        now = timezone.now()
        draft.version = _next_version(draft.kind)
        draft.published_at = now
        draft.effective_at = effective_at or draft.effective_at or now
        if material is not None:
            draft.material = material
        draft.save()
        if draft.kind == Document.Kind.TERMS and draft.material:
            from .tasks import terms_announce_task

            terms_announce_task.delay_on_commit(draft.pk)
    return draft


def terms_announce(*, document_id: int, batch: int = 500) -> int:
    """Tell every active customer that a material Terms version comes (R-LEG-2): an in-account
    notice and a mail to verified addresses. Safe to run twice: one notice per version."""
    from django.urls import reverse
    from django.utils.translation import gettext_noop

    from accounts.models import User
    from accounts.notices import notice_text
    from accounts.services import notice_send

    document = Document.objects.get(pk=document_id, version__isnull=False)
    kind = f"terms_v{document.version}"
    url = reverse("legal:version", args=[document.kind, document.version])
    customers = (
        User.objects.filter(is_active=True, is_staff=False, status=User.Status.ACTIVE)
        .exclude(notices__kind=kind)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(customers)
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            for user in User.objects.filter(pk__in=ids[start : start + batch]):
                notice_send(
                    user=user, kind=kind, url=url,
                    subject=notice_text(
                        gettext_noop("Our Terms of Service change on %(date)s"),
                        date=f"{document.effective_at:%Y-%m-%d}",
                    ),
                    body=notice_text(gettext_noop(
                        "We have updated our Terms of Service. At your next sign-in you will be "
                        "asked to read and accept the new version before you can order again."
                    )),
                )  # fmt: skip
    return len(ids)


def document_publish(
    *, kind: str, title: str, body: str, effective_at=None, material: bool = False
) -> Document:
    """Write and publish the next version of a legal document in one step."""
    with transaction.atomic():
        draft = Document.objects.create(kind=kind, title=title, body=body, material=material)
        return document_draft_publish(document=draft, effective_at=effective_at)


# --- holds and investigations (R-AUP-2) ---------------------------------------------------------
def _reason(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise HoldRefused("Give the reason; it is kept as evidence.")
    return text


def order_hold(*, order_id: int, reason: str, actor) -> Hold:
    """Hold one order under investigation: it is not sent to a provider until released; an
    order a provider already has is still polled. Balance and order stay as evidence."""
    from orders.models import OrderEvent
    from orders.services.lifecycle import order_event_add, orders_locking

    reason = _reason(reason)
    with transaction.atomic():
        order = orders_locking().filter(pk=order_id).first()
        if order is None:
            raise HoldRefused("No such order.")
        if order.is_final:
            raise HoldRefused(
                f"Order #{order.pk} is {order.get_status_display()}: nothing to hold."
            )
        if Hold.objects.filter(order=order, status=Hold.Status.OPEN).exists():
            raise HoldRefused(f"Order #{order.pk} is already on hold.")
        hold = Hold.objects.create(
            user_id=order.user_id, order=order, reason=reason, opened_by=actor
        )
        HoldEvent.objects.create(hold=hold, new_status=hold.status, note=reason, actor=actor)
        order_event_add(
            order=order, note=f"On hold (R-AUP-2): {reason}", cause=OrderEvent.Cause.STAFF,
            actor=actor, staff_only=True,
        )  # fmt: skip
    return hold


def account_hold(*, user, reason: str, actor) -> Hold:
    """Hold a whole account under investigation: it cannot order, its API key is refused
    (R-KEY-3), its unsent orders wait; its balance and orders stay as evidence."""
    from accounts.models import User

    reason = _reason(reason)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if Hold.objects.filter(user=user, order=None, status=Hold.Status.OPEN).exists():
            raise HoldRefused(f"{user} is already on hold.")
        hold = Hold.objects.create(user=user, reason=reason, opened_by=actor)
        HoldEvent.objects.create(hold=hold, new_status=hold.status, note=reason, actor=actor)
        _api_keys_uncache(user)
    return hold


def _api_keys_uncache(user) -> None:
    """An account hold changes what the account's API key answers (R-KEY-3): the read cache
    of the key must not serve the account from before it."""
    from accounts.services import api_keys_uncache

    api_keys_uncache(user=user)


def hold_transition(*, hold: Hold, new: str, note: str, actor) -> Hold:
    """Move a locked hold along ``HOLD_TRANSITIONS`` and write its ``HoldEvent``."""
    if new not in HOLD_TRANSITIONS.get(Hold.Status(hold.status), set()):
        raise HoldRefused(f"This hold is {hold.get_status_display()}; it cannot become {new}.")
    HoldEvent.objects.create(
        hold=hold, old_status=hold.status, new_status=new, note=note, actor=actor
    )
    hold.status = new
    hold.resolved_at = timezone.now()
    hold.save(update_fields=["status", "resolved_at"])
    if hold.order_id is None:
        _api_keys_uncache(hold.user)
    return hold


def hold_note(*, hold: Hold, note: str, actor) -> HoldEvent:
    """A review note on an open hold (what was checked, what was found), kept as evidence."""
    note = _reason(note)
    with transaction.atomic():
        hold = _hold_locked(hold.pk)
        if hold.status != Hold.Status.OPEN:
            raise HoldRefused(f"This hold is {hold.get_status_display()}; it takes no more notes.")
        return HoldEvent.objects.create(
            hold=hold, old_status=hold.status, new_status=hold.status, note=note, actor=actor
        )


def _hold_locked(hold_id: int) -> Hold:
    return Hold.objects.select_for_update().select_related("user").get(pk=hold_id)


def _send_on(order_ids: list[int]) -> None:
    """Hand held, unsent orders back to the relay (which checks the holds again)."""
    from orders.models import Order, RelayState
    from orders.services.relay import HELD_NOTES, relay_dispatch

    waiting = list(
        Order.objects.filter(
            pk__in=order_ids, relay_state=RelayState.QUEUED, relay_error__in=HELD_NOTES
        ).values_list("pk", flat=True)
    )
    Order.objects.filter(pk__in=waiting).update(next_attempt_at=None, relay_error="")
    for order_id in waiting:
        relay_dispatch(order_id)


def hold_release(*, hold: Hold, note: str, actor) -> Hold:
    """Nothing wrong found: the order (or the account's orders) go on."""
    from orders.models import Order

    note = _reason(note)
    with transaction.atomic():
        hold = hold_transition(hold=_hold_locked(hold.pk), new=Hold.Status.RELEASED, note=note,
                               actor=actor)  # fmt: skip
        if hold.order_id:
            _send_on([hold.order_id])
        else:
            _send_on(list(Order.objects.filter(user=hold.user).values_list("pk", flat=True)))
    return hold


def _hold_end(*, hold: Hold, new: str, note: str, actor, account_service) -> Hold:
    from orders.services.lifecycle import order_staff_cancel

    note = _reason(note)
    with transaction.atomic():
        hold = hold_transition(hold=_hold_locked(hold.pk), new=new, note=note, actor=actor)
        if hold.order_id:
            order_staff_cancel(order_id=hold.order_id, actor=actor, reason=note)
        else:
            account_service(user=hold.user, reason=note, actor=actor)
    return hold


def hold_reject(*, hold: Hold, note: str, actor) -> Hold:
    """The investigation found a violation: a held order is canceled with a full return
    (R-ORD-8); a held account is suspended (R-ACC-5)."""
    from accounts.services import account_suspend

    return _hold_end(hold=hold, new=Hold.Status.REJECTED, note=note, actor=actor,
                     account_service=account_suspend)  # fmt: skip


def hold_cancel(*, hold: Hold, note: str, actor) -> Hold:
    """End the matter for good: a held order is canceled with a full return; a held account is
    closed (R-ACC-5)."""
    from accounts.services import account_terminate

    return _hold_end(hold=hold, new=Hold.Status.CANCELED, note=note, actor=actor,
                     account_service=account_terminate)  # fmt: skip
