"""Database helpers for the ledger's migrations."""

from django.db import migrations


class RunSQLOn(migrations.RunSQL):
    """``RunSQL`` that runs only on one database vendor ("postgresql", "sqlite").

    The ledger's rules are written once per engine: PostgreSQL gets the deferred
    balance check and the immutability triggers, SQLite what its triggers can say.
    """

    def __init__(self, vendor: str, sql, reverse_sql=None, **kwargs):
        self.vendor = vendor
        super().__init__(sql, reverse_sql, **kwargs)

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        return name, [self.vendor, *args], kwargs

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == self.vendor:
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Raw SQL for {self.vendor}"
