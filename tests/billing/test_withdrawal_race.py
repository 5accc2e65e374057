"""A withdrawal and 20 orders racing on one balance never spend the same dollar twice
(R-WDR-3, R-WDR-4, R-BAL-5): each request on its own connection, at most 20 threads."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from billing.exceptions import InsufficientFunds, WithdrawalRefused
from billing.models import Account, Transaction, Withdrawal
from billing.selectors import balance_get
from billing.services import funds_spend
from billing.services.withdrawals import withdrawal_request
from tests.billing.money_out import card_deposit, system_balance
from tests.factories import UserFactory

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_withdrawal_and_twenty_orders_never_spend_a_dollar_twice(
    stripe_settings, localstripe, assert_ledger_ok
):
    user = UserFactory()
    card_deposit(user, "100.00", localstripe)
    go = threading.Event()
    lock = threading.Lock()
    outcomes: list[object] = []

    def order(n: int):
        go.wait(timeout=30)
        try:
            return funds_spend(
                user=user, amount=D("7.00"), memo=f"order {n}", ref_kind="order", ref_id=n
            )
        except InsufficientFunds as exc:
            return exc
        finally:
            connection.close()

    def withdraw():
        go.wait(timeout=30)
        try:
            return withdrawal_request(user=user)
        except WithdrawalRefused as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(order, n) for n in range(10)]
        futures.append(pool.submit(withdraw))
        futures += [pool.submit(order, n) for n in range(10, 20)]
        go.set()
        for future in futures:
            result = future.result(timeout=120)
            with lock:
                outcomes.append(result)

    spends = [o for o in outcomes if hasattr(o, "split")]
    spent = sum((s.split.deposited for s in spends), D("0"))
    balance = balance_get(user=user)
    withdrawal = Withdrawal.objects.filter(user=user).first()
    fee = system_balance(Account.Kind.WITHDRAWAL_FEES)
    # Every dollar is in exactly one place: spent, held for the card, kept as fee, or left.
    assert spent + balance.held + fee + balance.deposited == D("100.00")
    assert spent == D("7.00") * len(spends) <= D("100.00")
    assert Transaction.objects.filter(user=user, reason="spend").count() == len(spends)
    if withdrawal is not None and withdrawal.status == Withdrawal.Status.PENDING:
        assert balance.held == withdrawal.held  # nothing spent the held dollars
    elif withdrawal is not None:
        assert withdrawal.status == Withdrawal.Status.CANCELED  # R-WDR-4: an order came after
        assert balance.held == 0
    assert balance.deposited >= 0
    assert_ledger_ok()
