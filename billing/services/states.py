"""One transition function for billing's state machines (withdrawals, dormancy cases).

Each model declares its allowed moves as data (``TRANSITIONS``); every move goes through
``state_move`` on a locked row, which refuses a move the data does not allow and writes
the history row (R-ORD-16's shape, used here for money going out)."""

from __future__ import annotations

from billing.models import DormancyCase, DormancyEvent, Withdrawal, WithdrawalEvent


class TransitionRefusedError(ValueError):
    """A programming error: a move the state machine does not allow."""


def withdrawal_transition(
    *, withdrawal: Withdrawal, new: str, cause: str, actor=None, note: str = ""
) -> WithdrawalEvent:
    old = withdrawal.status
    if new not in Withdrawal.TRANSITIONS[Withdrawal.Status(old)]:
        raise TransitionRefusedError(f"withdrawal #{withdrawal.pk}: {old} -> {new} is not allowed")
    withdrawal.status = new
    withdrawal.save(update_fields=["status", "updated_at"])
    return WithdrawalEvent.objects.create(
        withdrawal=withdrawal,
        old_status=old,
        new_status=new,
        cause=cause,
        actor=actor,
        note=note[:255],
    )


def dormancy_transition(
    *, case: DormancyCase, new: str, cause: str, actor=None, note: str = "", fields=()
) -> DormancyEvent:
    old = case.state
    if new not in DormancyCase.TRANSITIONS[DormancyCase.State(old)]:
        raise TransitionRefusedError(f"dormancy case #{case.pk}: {old} -> {new} is not allowed")
    case.state = new
    case.save(update_fields=["state", *fields])
    if DormancyCase.State.FROZEN in (old, new):
        # A frozen balance refuses the account's API key (R-KEY-3): the key's read cache
        # must not serve the account from before the freeze, or after it ends.
        from accounts.services import api_keys_uncache

        api_keys_uncache(user=case.user)
    return DormancyEvent.objects.create(
        case=case, old_state=old, new_state=new, cause=cause, actor=actor, note=note[:255]
    )
