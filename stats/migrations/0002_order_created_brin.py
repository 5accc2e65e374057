"""A BRIN index on orders' creation time: the daily refresh reads one day's orders by range.

Orders are appended in time order, so a BRIN index (a few pages for millions of rows) finds a
day's rows without an index on every row. It lives here, with the only reader that needs it.
"""

from django.db import migrations

from billing.db import RunSQLOn


class Migration(migrations.Migration):
    dependencies = [("stats", "0001_initial"), ("orders", "0001_initial")]

    operations = [
        RunSQLOn(
            "postgresql",
            "CREATE INDEX IF NOT EXISTS stats_order_created_brin ON orders_order "
            "USING brin (created_at)",
            "DROP INDEX IF EXISTS stats_order_created_brin",
        ),
        RunSQLOn(
            "sqlite",
            "CREATE INDEX IF NOT EXISTS stats_order_created ON orders_order (created_at)",
            "DROP INDEX IF EXISTS stats_order_created",
        ),
    ]
