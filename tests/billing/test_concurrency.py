import threading
from decimal import Decimal

import pytest
from django.db import connection

from billing.exceptions import InsufficientFunds
from billing.ledger import Split
from billing.models import Transaction
from billing.selectors import balance_get
from billing.services import funds_spend
from tests.billing.factories import fund
from tests.factories import UserFactory
from tests.limits import connection_slots

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_spends_never_overdraw(assert_ledger_ok):
    # R-BAL-5: 50 requests at once, each with its own connection, spend 1.00 from 20.00.
    user = UserFactory()
    fund(user, deposited="15.00", promotional="5.00")
    start = threading.Barrier(50)
    slots = connection_slots()  # at most 20 connections at once (tests/limits.py)
    outcomes: list[object] = []
    lock = threading.Lock()

    def spend(n: int) -> None:
        start.wait(timeout=30)
        with slots:
            try:
                result = funds_spend(
                    user=user, amount=D("1.00"), memo=f"order {n}", ref_kind="order", ref_id=n
                )
            except InsufficientFunds as exc:
                result = exc
            except Exception as exc:  # noqa: BLE001 (reported below, never lost in the thread)
                result = repr(exc)
            finally:
                connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=spend, args=(n,)) for n in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    spends = [o for o in outcomes if not isinstance(o, (InsufficientFunds, str))]
    refusals = [o for o in outcomes if isinstance(o, InsufficientFunds)]
    errors = [o for o in outcomes if isinstance(o, str)]
    assert errors == []
    assert (len(spends), len(refusals)) == (20, 30)
    # R-BAL-4 held under contention: the promotional 5.00 went first, in total.
    total = Split()
    for spend in spends:
        total = total + spend.split
    assert total == Split(promotional=D("5.00"), deposited=D("15.00"))
    balance = balance_get(user=user)
    assert (balance.deposited, balance.promotional, balance.total) == (D("0"), D("0"), D("0"))
    assert Transaction.objects.filter(user=user, reason="spend").count() == 20
    assert_ledger_ok()
