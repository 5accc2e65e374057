"""PostgreSQL itself keeps the ledger honest: these tests bypass the services and the
models' Python with raw SQL and ``.update()`` (R-BAL-3, R-BAL-5)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from billing.models import Account, Entry, Transaction
from billing.selectors import balance_get, ledger_verify
from tests.billing.factories import fund
from tests.factories import UserFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the database rules under test are PostgreSQL's"
)

D = Decimal


def _accounts(user):
    fund(user, deposited="10.00")
    deposited = Account.objects.get(user=user, kind="deposited")
    sales, _ = Account.objects.get_or_create(kind="sales", user=None)
    return deposited, sales


def _sql(*statements, params=None):
    """Run raw statements in one transaction (a savepoint inside a test's transaction)."""
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement, params)


def _post_by_hand(user, legs):
    """A transaction written through the models, skipping the services' checks."""
    with transaction.atomic():
        txn = Transaction.objects.create(
            user=user, reason="spend", memo="by hand", ref_kind="order", ref_id="1"
        )
        for account, amount in legs:
            Entry.objects.create(transaction=txn, account=account, amount=amount)


@pytest.mark.ledger_broken  # posts entries by hand, leaving the cached balance behind
@pytest.mark.django_db(transaction=True)
def test_unbalanced_transaction_is_refused_at_commit_through_the_orm():
    user = UserFactory()
    deposited, sales = _accounts(user)
    before = Transaction.objects.count()

    with pytest.raises(IntegrityError, match="unbalanced"):
        _post_by_hand(user, [(deposited, D("-1.00")), (sales, D("0.99"))])

    assert Transaction.objects.count() == before
    _post_by_hand(user, [(deposited, D("-1.00")), (sales, D("1.00"))])  # balanced: committed
    assert Transaction.objects.count() == before + 1


@pytest.mark.django_db(transaction=True)
def test_unbalanced_transaction_is_refused_at_commit_in_raw_sql():
    user = UserFactory()
    deposited, sales = _accounts(user)
    before = Entry.objects.count()

    with pytest.raises(IntegrityError, match="unbalanced"):
        _sql(
            "INSERT INTO billing_transaction (created_at, reason, memo, ref_kind, ref_id)"
            " VALUES (now(), 'spend', 'raw', 'order', '2')",
            "INSERT INTO billing_entry (transaction_id, account_id, amount) VALUES"
            " (currval('billing_transaction_id_seq'), %(sales)s, 5),"
            " (currval('billing_transaction_id_seq'), %(deposited)s, -4.99999)",
            params={"sales": sales.pk, "deposited": deposited.pk},
        )

    assert Entry.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_transaction_without_entries_is_refused_at_commit():
    with pytest.raises(IntegrityError, match="no entries"):
        _post_by_hand(None, [])


@pytest.mark.django_db
def test_entries_cannot_be_updated():
    user = UserFactory()
    _accounts(user)
    entry = Entry.objects.filter(account__user=user).first()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(amount=D("1000"))
    with pytest.raises(IntegrityError, match="append-only"):
        _sql("UPDATE billing_entry SET amount = amount * 2")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Transaction.objects.filter(pk=entry.transaction_id).update(memo="rewritten")

    entry.refresh_from_db()
    assert entry.amount == D("10.00")


@pytest.mark.django_db
def test_entries_cannot_be_deleted():
    user = UserFactory()
    _accounts(user)
    entry = Entry.objects.filter(account__user=user).first()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Entry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"):
        _sql("DELETE FROM billing_entry")
    with pytest.raises(IntegrityError):
        _sql(
            "DELETE FROM billing_transaction WHERE id = %(id)s",
            params={"id": entry.transaction_id},
        )

    assert Entry.objects.filter(pk=entry.pk).exists()


@pytest.mark.django_db
def test_ledger_cannot_be_truncated():
    user = UserFactory()
    _accounts(user)
    _sql("SET CONSTRAINTS ALL IMMEDIATE")  # run the checks still pending from _accounts
    for table in ("billing_entry", "billing_transaction"):
        with pytest.raises(IntegrityError, match="TRUNCATE"):
            # Only Django's test flush may truncate (LEDGER_TRUNCATE_ALLOWED); not this session.
            _sql("SET LOCAL smmpanel.ledger_truncate = 'deny'", f"TRUNCATE {table} CASCADE")
    assert Entry.objects.filter(account__user=user).count() == 1


@pytest.mark.django_db
def test_cached_balance_can_never_be_negative():
    # R-BAL-5
    user = UserFactory()
    deposited, _ = _accounts(user)

    with pytest.raises(IntegrityError, match="balance_gte_0"), transaction.atomic():
        Account.objects.filter(pk=deposited.pk).update(balance=D("-0.00001"))
    with pytest.raises(IntegrityError, match="balance_gte_0"):
        _sql("UPDATE billing_account SET balance = balance - 10.00001")

    assert balance_get(user=user).deposited == D("10.00")


@pytest.mark.django_db
def test_zero_entries_are_refused():
    user = UserFactory()
    deposited, sales = _accounts(user)
    with pytest.raises(IntegrityError, match="amount_nonzero"):
        _post_by_hand(user, [(deposited, D("0")), (sales, D("0"))])


@pytest.mark.ledger_broken
@pytest.mark.django_db
def test_ledger_check_reports_what_bypassed_the_triggers():
    """A restore or a superuser can switch triggers off; ledger_check still finds the damage."""
    user = UserFactory()
    deposited, sales = _accounts(user)
    _sql("SET LOCAL session_replication_role = replica")
    txn = Transaction.objects.create(
        user=user, reason="spend", memo="forged", ref_kind="order", ref_id="5"
    )
    Entry.objects.create(transaction=txn, account=sales, amount=D("7"))
    off = Transaction.objects.create(
        user=user, reason="spend", memo="off by a place", ref_kind="order", ref_id="6"
    )
    Entry.objects.create(transaction=off, account=sales, amount=D("1.00001"))
    Entry.objects.create(transaction=off, account=sales, amount=D("-1"))
    _sql("SET LOCAL session_replication_role = origin")
    Account.objects.filter(pk=deposited.pk).update(balance=D("12.00"))

    problems = ledger_verify().problems
    assert any(f"transaction #{txn.pk}" in p and "summing to 7" in p for p in problems)
    assert any(f"transaction #{off.pk}" in p and "summing to 0.00001" in p for p in problems)
    assert any("cached balance 12.00000 but its entries sum to 10.00000" in p for p in problems)
