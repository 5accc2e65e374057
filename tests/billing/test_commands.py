from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from billing.models import Account, Deposit, Transaction
from billing.selectors import balance_get
from tests.billing.factories import fund

pytestmark = pytest.mark.django_db

D = Decimal


def test_ledger_check_passes_on_an_honest_ledger(customer, capsys):  # R-BAL-3
    fund(customer, deposited="10", promotional="2")
    call_command("ledger_check")
    assert "Ledger OK: 2 transactions, 4 entries, 3 customer accounts checked." in (
        capsys.readouterr().out
    )


@pytest.mark.ledger_broken
def test_ledger_check_fails_with_a_readable_report(customer):  # R-BAL-3
    fund(customer, deposited="10")
    Account.objects.filter(user=customer, kind="deposited").update(balance=D("11"))

    with pytest.raises(CommandError) as exc:
        call_command("ledger_check")

    assert exc.value.returncode == 1
    report = str(exc.value)
    assert "Ledger check FAILED (2 problems" in report
    assert f"Deposited Funds of {customer.username}" in report
    assert "cached balance 11.00000 but its entries sum to 10.00000" in report
    assert "cached balance 11.00000 but the last entry left 10.00000" in report


def test_add_funds_deposited_is_a_manual_deposit(customer, capsys):  # R-BAL-2
    call_command("add_funds", customer.username, "25.50", "--reason", "bank transfer 1187")

    assert balance_get(user=customer).deposited == D("25.50")
    deposit = Deposit.objects.get(user=customer)
    assert (deposit.method, deposit.status, deposit.amount) == ("manual", "credited", D("25.50"))
    txn = deposit.transaction
    assert txn.reason == "deposit"
    assert "bank transfer 1187" in txn.memo
    assert {e.account.kind for e in txn.entries.all()} == {"bank", "deposited"}
    assert "Added 25.50 USD of Deposited Funds" in capsys.readouterr().out
    call_command("ledger_check")


def test_add_funds_promotional_is_a_grant(customer):  # R-BAL-2
    call_command(
        "add_funds", customer.email, "3", "--source", "promotional", "--reason", "goodwill"
    )
    assert balance_get(user=customer).promotional == D("3")
    txn = Transaction.objects.get(user=customer)
    assert (txn.reason, txn.memo) == ("promo_grant", "Promotional credit: goodwill")
    assert not Deposit.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nobody", "5", "--reason", "x"], "no such user"),
        (["{user}", "-5", "--reason", "x"], "positive"),
        (["{user}", "abc", "--reason", "x"], "not an amount"),
        (["{user}", "0.000001", "--reason", "x"], "5 decimal places"),
        (["{user}", "5", "--reason", "  "], "cannot be empty"),
    ],
)
def test_add_funds_refuses_bad_input(customer, args, message):
    args = [a.format(user=customer.username) for a in args]
    with pytest.raises(CommandError, match=message):
        call_command("add_funds", *args)
    assert balance_get(user=customer).total == 0


def test_run_localstripe_refuses_outside_development(settings):
    from django.core.management import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="development"):
        call_command("run_localstripe", webhook_url="http://127.0.0.1:8000/billing/stripe/webhook/")
