"""The ledger's rules, enforced by the database itself (R-BAL-3, R-BAL-5).

PostgreSQL: a deferred constraint trigger refuses, at COMMIT, a transaction whose entries
do not sum to zero (or that has no entries); triggers refuse UPDATE, DELETE and TRUNCATE
of entries and transactions (corrections are new transactions). TRUNCATE is allowed only
to a session that sets ``smmpanel.ledger_truncate = 'allow'``: the test settings do, since
Django empties every table with TRUNCATE between transactional tests.

SQLite (the embedded default) has no deferred triggers: the balance rule is checked in
Python before any entry is written; its triggers refuse UPDATE and DELETE.
"""

from django.db import migrations

from billing.db import RunSQLOn

PG_FORWARD = [
    """
    CREATE FUNCTION billing_entry_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        total numeric;
    BEGIN
        SELECT COALESCE(SUM(amount), 0) INTO total
          FROM billing_entry WHERE transaction_id = NEW.transaction_id;
        IF total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % is unbalanced: its entries sum to %',
                NEW.transaction_id, total
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER billing_entry_balanced
        AFTER INSERT ON billing_entry
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION billing_entry_check_balanced()
    """,
    """
    CREATE FUNCTION billing_transaction_check_entries() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM billing_entry WHERE transaction_id = NEW.id) THEN
            RAISE EXCEPTION 'ledger transaction % has no entries', NEW.id
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
    END;
    $$
    """,
    """
    CREATE CONSTRAINT TRIGGER billing_transaction_has_entries
        AFTER INSERT ON billing_transaction
        DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW EXECUTE FUNCTION billing_transaction_check_entries()
    """,
    """
    CREATE FUNCTION billing_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on % refused: the ledger is append-only, post a correcting transaction',
            TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER billing_entry_immutable
        BEFORE UPDATE OR DELETE ON billing_entry
        FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change()
    """,
    """
    CREATE TRIGGER billing_transaction_immutable
        BEFORE UPDATE OR DELETE ON billing_transaction
        FOR EACH ROW EXECUTE FUNCTION billing_ledger_refuse_change()
    """,
    """
    CREATE FUNCTION billing_ledger_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF current_setting('smmpanel.ledger_truncate', true) = 'allow' THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION 'TRUNCATE of % refused: the ledger is append-only', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END;
    $$
    """,
    """
    CREATE TRIGGER billing_entry_no_truncate
        BEFORE TRUNCATE ON billing_entry
        FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_refuse_truncate()
    """,
    """
    CREATE TRIGGER billing_transaction_no_truncate
        BEFORE TRUNCATE ON billing_transaction
        FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_refuse_truncate()
    """,
]

PG_REVERSE = [
    "DROP TRIGGER IF EXISTS billing_transaction_no_truncate ON billing_transaction",
    "DROP TRIGGER IF EXISTS billing_entry_no_truncate ON billing_entry",
    "DROP FUNCTION IF EXISTS billing_ledger_refuse_truncate()",
    "DROP TRIGGER IF EXISTS billing_transaction_immutable ON billing_transaction",
    "DROP TRIGGER IF EXISTS billing_entry_immutable ON billing_entry",
    "DROP FUNCTION IF EXISTS billing_ledger_refuse_change()",
    "DROP TRIGGER IF EXISTS billing_transaction_has_entries ON billing_transaction",
    "DROP FUNCTION IF EXISTS billing_transaction_check_entries()",
    "DROP TRIGGER IF EXISTS billing_entry_balanced ON billing_entry",
    "DROP FUNCTION IF EXISTS billing_entry_check_balanced()",
]

SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER billing_{table}_no_{op.lower()}
        BEFORE {op} ON billing_{table}
    BEGIN
        SELECT RAISE(ABORT, '{op} on billing_{table} refused: the ledger is append-only');
    END
    """
    for table in ("entry", "transaction")
    for op in ("UPDATE", "DELETE")
]

SQLITE_REVERSE = [
    f"DROP TRIGGER IF EXISTS billing_{table}_no_{op}"
    for table in ("entry", "transaction")
    for op in ("update", "delete")
]


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
    ]

    operations = [
        RunSQLOn("postgresql", PG_FORWARD, PG_REVERSE),
        RunSQLOn("sqlite", SQLITE_FORWARD, SQLITE_REVERSE),
    ]
