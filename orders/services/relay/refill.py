"""Refills at the provider (R-ORD-13): ``refill`` once, then ``refill_status`` until it ends.

Sending (``refill_send``): a queued refill is claimed (``SKIP LOCKED``) and marked *sending*
with a lease before the HTTP call. The provider's answer:

* a refill id: stored (unique per provider); the refill is polled from then on;
* a refusal (refill disabled, not possible yet, unknown order): Rejected with its words;
* HTTP 5xx (other than 503): the route offers no refills (issue 16: some panels answer 500
  where refills are not offered); it is marked so (``RefillUnsupported``) and the refill
  is Rejected, with no retries;
* nothing reached the provider, 429, 503, unknown error: retried with backoff, then staff;
* sent and then no clear answer (timeout, connection lost, an answer that is not an id):
  the provider may have the refill, so it is never sent again blind: it waits for staff
  (*reconcile*). A send that outlives its lease (a worker died mid-call) goes there too.

Polling (``refills_poll``): sent refills whose ``due_at`` passed, at most 100 a call per
provider through multi ``refill_status``, claimed with SKIP LOCKED and leased; each answer
moves the refill's status (Pending, In progress, Completed, Rejected). A call that fails
(HTTP 5xx, a refusal, no answer) is tried again a poll later; a refill whose polls failed
``ORDERS_REFILL_POLL_FAILURES_MAX`` times in a row goes to staff (*manual*) with the reason,
never polled forever (a provider that turned refills off answers 500 from then on).
"""

from __future__ import annotations

import logging
from typing import cast

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Provider
from catalog.provider_client import (
    MAX_IDS_PER_CALL,
    Outcome,
    ProviderClient,
    ProviderResult,
    Reason,
)
from orders.models import OrderEvent, Refill, RefillRelay, RefillStatus, RefillUnsupported
from orders.services.refills import refill_note, refill_relay_move, refill_transition
from orders.services.relay.common import (
    claim_commit_unflushed,
    count_parse,
    lease,
    relay_backoff,
    seconds,
)
from smmpanel.outage import enqueue_on_commit

logger = logging.getLogger(__name__)
Cause = OrderEvent.Cause

PROVIDER_REFILL_STATUSES = {
    "pending": RefillStatus.PENDING,
    "in progress": RefillStatus.IN_PROGRESS,
    "in_progress": RefillStatus.IN_PROGRESS,
    "processing": RefillStatus.IN_PROGRESS,
    "completed": RefillStatus.COMPLETED,
    "complete": RefillStatus.COMPLETED,
    "rejected": RefillStatus.REJECTED,
    "canceled": RefillStatus.REJECTED,
    "cancelled": RefillStatus.REJECTED,
    "error": RefillStatus.REJECTED,
}
# The provider's refusals of a refill: final for this request.
REFUSALS = {Reason.REFILL_DISABLED, Reason.REFILL_NOT_READY, Reason.BAD_ORDER, Reason.BAD_REQUEST}


class RefillClient(ProviderClient):
    """The provider client, with ``refill`` classified like ``add``: once sent, a broken
    answer is AMBIGUOUS (the provider may have made the refill), never a blind retry."""

    def refill_once(self, order_id) -> ProviderResult:
        return self._call("refill", {"order": int(order_id)}, self._shape_refill, is_add=True)


def _claim(refill_id: int) -> Refill | None:
    now = timezone.now()
    with transaction.atomic():
        refill = (
            Refill.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order", "provider")
            .filter(pk=refill_id, relay_state=RefillRelay.QUEUED)
            .first()
        )
        if refill is None or refill.is_final:
            return None
        refill_relay_move(refill=refill, new=RefillRelay.SENDING)
        refill.attempts += 1
        refill.due_at = now + lease()  # past it, the send counts as ambiguous
        refill.save(update_fields=["relay_state", "attempts", "due_at", "updated_at"])
    return refill


def refill_send(*, refill_id: int) -> None:
    """Send one queued refill to the order's provider and record the answer."""
    refill = _claim(refill_id)
    if refill is None:
        return
    order = refill.order
    result = RefillClient(refill.provider).refill_once(order.provider_order_id)  # no lock held
    now = timezone.now()
    name = refill.provider.name if refill.provider else "the provider"
    with transaction.atomic():
        refill = (
            Refill.objects.select_for_update(of=("self",)).select_related("order").get(pk=refill_id)
        )
        if refill.relay_state != RefillRelay.SENDING:
            return  # the lease ran out: staff reconcile it
        if result.ok:
            refill.provider_refill_id = result.data["refill"]
            refill_relay_move(refill=refill, new=RefillRelay.SENT, error="")
            refill.due_at = now + seconds(settings.ORDERS_REFILL_POLL_SECONDS)
            try:
                with transaction.atomic():
                    refill.save()
            except IntegrityError:
                refill.refresh_from_db()
                _reconcile(refill, f"{name} answered refill id {result.data['refill']}, in use.")
                return
            refill_note(
                refill=refill, note=f"Sent to {name}: its refill {refill.provider_refill_id}."
            )
        elif (
            result.http_status is not None
            and result.http_status >= 500
            and result.http_status != 503
            and result.reason == Reason.HTTP_ERROR
        ):
            if order.provider_service_id is not None:
                RefillUnsupported.objects.get_or_create(
                    provider_service_id=order.provider_service_id,
                    defaults={"detail": f"{name}: {result.error}"[:500]},
                )
            refill.reason = "The provider does not offer refills for this service."
            refill.relay_error = result.error
            refill_transition(
                refill=refill, new=RefillStatus.REJECTED, cause=Cause.PROVIDER, note=refill.reason
            )
            logger.warning("refill %s: %s answers %s: no refills", refill.pk, name, result.error)
        elif result.outcome is Outcome.AMBIGUOUS:
            _reconcile(refill, f"{name} may have the refill ({result.error}).")
        elif result.outcome is Outcome.FINAL or result.reason in REFUSALS:
            refill.reason = result.error[:500]
            refill.relay_error = result.error
            refill_transition(
                refill=refill, new=RefillStatus.REJECTED, cause=Cause.PROVIDER, note=result.error
            )
        elif refill.attempts < settings.ORDERS_RELAY_RETRIES:
            refill_relay_move(refill=refill, new=RefillRelay.QUEUED, error=result.error)
            refill.due_at = now + relay_backoff(refill.attempts)
            refill.save()
            refill_note(refill=refill, note=f"{name}: {result.error} Retried later.")
        else:
            refill_relay_move(refill=refill, new=RefillRelay.MANUAL, error=result.error)
            refill.due_at = None
            refill.save()
            refill_note(refill=refill, note=f"{name}: {result.error} Given up; staff decide.")


def _reconcile(refill: Refill, error: str) -> None:
    refill_relay_move(refill=refill, new=RefillRelay.RECONCILE, error=error)
    refill.due_at = None
    refill.save()
    refill_note(refill=refill, note=f"{error} Not sent again until staff reconcile it.")


def refill_status_apply(*, refill_id: int, provider_id: int, answer) -> Refill | None:
    """Apply one provider ``refill_status`` answer to a sent refill (safe to run twice)."""
    now = timezone.now()
    with transaction.atomic():
        refill = (
            Refill.objects.select_for_update()
            .filter(pk=refill_id, provider_id=provider_id, relay_state=RefillRelay.SENT)
            .first()
        )
        if refill is None or refill.is_final:
            return refill
        refill.due_at = now + seconds(settings.ORDERS_REFILL_POLL_SECONDS)
        if isinstance(answer, dict) and "error" in answer:
            _reconcile(refill, f"The provider says: {answer['error']}")
            return refill
        new = PROVIDER_REFILL_STATUSES.get(str(answer).strip().lower())
        if new is None:
            refill.save(update_fields=["due_at", "updated_at"])
            logger.warning("refill %s: unknown provider refill status %r", refill.pk, answer)
            return refill
        if new == refill.status:
            refill.save(update_fields=["due_at", "updated_at"])
        elif new == RefillStatus.REJECTED:
            refill.reason = "The provider rejected the refill."
            refill_transition(refill=refill, new=new, cause=Cause.PROVIDER, note=refill.reason)
        elif new != RefillStatus.PENDING:
            refill_transition(refill=refill, new=new, cause=Cause.PROVIDER)
        else:
            refill.save(update_fields=["due_at", "updated_at"])
        return refill


def _poll_claim(*, provider_id: int, now, size: int) -> list[tuple[int, int]]:
    with transaction.atomic():
        rows = list(
            Refill.objects.select_for_update(skip_locked=True)
            .filter(provider_id=provider_id, relay_state=RefillRelay.SENT, due_at__lte=now)
            .order_by("due_at")
            .values_list("pk", "provider_refill_id")[:size]
        )
        if rows:
            Refill.objects.filter(pk__in=[pk for pk, _ in rows]).update(due_at=now + lease())
    return cast("list[tuple[int, int]]", rows)  # sent refills have the provider's id


def _poll_failed(*, provider: Provider, refill_ids: list[int], error: str) -> None:
    """A ``refill_status`` call that failed: each refill is polled again later, or, after
    ``ORDERS_REFILL_POLL_FAILURES_MAX`` failures in a row, goes to staff with the reason."""
    retry_at = timezone.now() + seconds(settings.ORDERS_REFILL_POLL_SECONDS)
    limit = settings.ORDERS_REFILL_POLL_FAILURES_MAX
    logger.warning("refill_status poll of %s failed: %s", provider.name, error)
    with transaction.atomic():
        refills = Refill.objects.select_for_update().filter(
            pk__in=refill_ids, relay_state=RefillRelay.SENT
        )
        for refill in refills:
            refill.poll_failures += 1
            if refill.poll_failures < limit:
                refill.due_at = retry_at
                refill.save(update_fields=["poll_failures", "due_at", "updated_at"])
                continue
            refill_relay_move(
                refill=refill,
                new=RefillRelay.MANUAL,
                error=(
                    f"{refill.poll_failures} refill_status polls in a row failed at "
                    f"{provider.name}; the last: {error} Its refill {refill.provider_refill_id} "
                    "is no longer polled: ask the provider, then complete or reject it."
                ),
            )
            refill.due_at = None
            refill.save()
            refill_note(refill=refill, note=refill.relay_error)


def _poll_batch(*, provider: Provider, rows: list[tuple[int, int]]) -> int:
    result = ProviderClient(provider).multi_refill_status([remote for _, remote in rows])
    if not result.ok:
        _poll_failed(provider=provider, refill_ids=[pk for pk, _ in rows], error=result.error)
        return 0
    answers = {}
    for item in result.data:
        remote = count_parse(item.get("refill"))
        if remote is not None:
            answers[remote] = item.get("status")
    answered = [pk for pk, remote in rows if answers.get(remote) is not None]
    Refill.objects.filter(pk__in=answered, poll_failures__gt=0).update(poll_failures=0)
    applied = 0
    for refill_id, remote in rows:
        if remote in answers and answers[remote] is not None:
            refill_status_apply(
                refill_id=refill_id, provider_id=provider.pk, answer=answers[remote]
            )
            applied += 1
    return applied


# The beat's refills in one statement on Postgres: claim the due sends (SKIP LOCKED) and
# lease them (due again after a lease if the message is lost; the send claims each one
# meanwhile), and look up the rest of the due work: sends past their lease, and the
# providers with sent refills to poll. Rows: ('queued', refill, due time) for each send
# claimed, ('sending', provider, NULL) and ('sent', provider, NULL) for the rest.
DUE_SQL = """
WITH claimed AS (
    SELECT id, due_at FROM orders_refill
    WHERE relay_state = %(queued)s AND due_at <= %(now)s
    ORDER BY due_at LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), leased AS (
    UPDATE orders_refill r SET due_at = %(lease_until)s
    FROM claimed c WHERE r.id = c.id
    RETURNING r.id, c.due_at
)
SELECT %(queued)s::varchar, id, due_at FROM leased
UNION ALL
SELECT DISTINCT relay_state, provider_id, NULL::timestamptz FROM orders_refill
WHERE (relay_state = %(sending)s AND due_at < %(now)s)
   OR (relay_state = %(sent)s AND due_at <= %(now)s)
"""
# The sends claimed (the longest due first), and the (relay state, provider) of the rest.
Due = tuple[list[int], set[tuple[str, int | None]]]


def _due_sql(*, now, limit: int) -> Due:
    """Claim and lease up to ``limit`` due sends and look up the rest (Postgres, one
    statement: ``DUE_SQL``), inside the caller's transaction."""
    params = {
        "now": now, "lease_until": now + lease(), "limit": limit, "queued": RefillRelay.QUEUED,
        "sending": RefillRelay.SENDING, "sent": RefillRelay.SENT,
    }  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(DUE_SQL, params)
        rows = cursor.fetchall()
    sends = sorted((due_at, pk) for state, pk, due_at in rows if state == RefillRelay.QUEUED)
    rest = {(state, pk) for state, pk, _ in rows if state != RefillRelay.QUEUED}
    return [pk for _, pk in sends], rest


def _due_orm(*, now, limit: int) -> Due:
    """The same through the ORM, three statements (SQLite: ``make run``'s default)."""
    sends = list(
        Refill.objects.select_for_update(skip_locked=True)
        .filter(relay_state=RefillRelay.QUEUED, due_at__lte=now)
        .order_by("due_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    Refill.objects.filter(pk__in=sends).update(due_at=now + lease())
    rest = (
        Refill.objects.filter(
            Q(relay_state=RefillRelay.SENDING, due_at__lt=now)
            | Q(relay_state=RefillRelay.SENT, due_at__lte=now)
        )
        .order_by()
        .values_list("relay_state", "provider_id")
        .distinct()
    )
    return sends, set(rest)


def refills_due(*, max_batches: int | None = None) -> int:
    """Beat: send due refills, poll sent ones (100 a call per provider), and send refills
    whose send outlived its lease to reconciliation. Returns how many rows were handled."""
    from orders.tasks import refill_send_batch_task

    max_batches = max_batches or settings.ORDERS_DUE_MAX_BATCHES
    size = min(settings.ORDERS_DUE_BATCH, MAX_IDS_PER_CALL)
    now = timezone.now()
    handled = 0
    claim = _due_sql if connection.vendor == "postgresql" else _due_orm
    with transaction.atomic():
        claim_commit_unflushed()
        due, other_due = claim(now=now, limit=size * max_batches)
        if due:
            enqueue_on_commit(refill_send_batch_task, due)  # else due again after the lease
    handled += len(due)
    if any(state == RefillRelay.SENDING for state, _ in other_due):
        with transaction.atomic():
            stuck = list(
                Refill.objects.select_for_update(skip_locked=True).filter(
                    relay_state=RefillRelay.SENDING, due_at__lt=now
                )[:size]
            )
            for refill in stuck:
                _reconcile(refill, "The send did not finish; the provider may have the refill.")
    provider_ids = [pk for state, pk in other_due if state == RefillRelay.SENT and pk is not None]
    batches = 0
    for provider in Provider.objects.filter(pk__in=provider_ids):
        while batches < max_batches:
            rows = _poll_claim(provider_id=provider.pk, now=now, size=size)
            if not rows:
                break
            batches += 1
            handled += _poll_batch(provider=provider, rows=rows)
    return handled
