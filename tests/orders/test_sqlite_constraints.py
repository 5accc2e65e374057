"""make run's default database is SQLite, which stores money as floats: the order's split
constraint (R-BAL-4) must accept a split whose float sum is off in the last bit."""

from django.db import IntegrityError
from django.db.backends.sqlite3.base import DatabaseWrapper

from orders.models import Order

SQLITE = {
    "ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}, "TIME_ZONE": None,
    "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
    "ATOMIC_REQUESTS": False, "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {},
}  # fmt: skip


def _inserts(rows) -> list[bool]:
    """Insert (charge, paid_promotional, paid_deposited) rows under the model's own CHECK,
    compiled for SQLite, into columns with Django's SQLite types; which ones are accepted."""
    connection = DatabaseWrapper(SQLITE, alias="sqlite_split_probe")
    constraint = next(c for c in Order._meta.constraints if c.name == "order_paid_split_is_charge")
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        check = constraint._get_check_sql(Order, editor)
    accepted = []
    with connection.cursor() as cursor:
        cursor.execute(
            'CREATE TABLE split ("charge" decimal NOT NULL, "paid_promotional" decimal NULL, '
            f'"paid_deposited" decimal NULL, CHECK ({check}))'
        )
        for row in rows:
            try:
                cursor.execute("INSERT INTO split VALUES (%s, %s, %s)", row)
                accepted.append(True)
            except IntegrityError:
                accepted.append(False)
    connection.close()
    return accepted


def test_a_split_adds_up_on_sqlite_too(django_db_blocker):  # R-BAL-4
    # 0.28 + 0.08 is 0.36000000000000004 in floats: the exact comparison refused this order.
    with django_db_blocker.unblock():  # a private in-memory SQLite, not the test database
        assert _inserts([("0.36", "0.28", "0.08"), ("0.36", None, None)]) == [True, True]


def test_a_split_that_does_not_add_up_is_still_refused_on_sqlite(django_db_blocker):  # R-BAL-4
    with django_db_blocker.unblock():
        assert _inserts([("0.37", "0.28", "0.08"), ("0.36", "0.28", "0.07999")]) == [False, False]


def test_postgres_refuses_a_split_off_by_the_last_place(db):  # R-BAL-4
    from decimal import Decimal

    import pytest
    from django.db import transaction

    from tests.catalog.factories import ServiceFactory
    from tests.orders.factories import funded_customer, place

    order = place(
        funded_customer(deposited="10"), ServiceFactory(rate=Decimal("1.20")), quantity=300
    )
    assert order.paid_deposited == Decimal("0.36")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=order.pk).update(paid_deposited=Decimal("0.35999"))
