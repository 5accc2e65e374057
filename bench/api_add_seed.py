"""Seed the benchmark database and write the pgbench script of one `add` (bench/api_add.py).

Run through `manage.py shell` with the benchmark's environment:
BENCH_DIR (output folder), BENCH_ACCOUNTS (number of funded accounts).
Also gives the first account 100 orders and writes the SQL of one warm `status` call of
those 100 ids (status100.json), which the bench times on its own as the raw SQL floor.
"""

import json
import os
import re
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import RequestFactory

from accounts.services import api_key_issue
from billing.models import Account
from billing.services import deposit_credit
from catalog.models import Category, Service
from orders.api.views import api_v2
from orders.models import Order
from orders.services import order_place

OUT = Path(os.environ["BENCH_DIR"])
ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "200"))
FUNDS = Decimal("1000000")
ID_BASE = 1_000_000_000  # distinctive ids (below int4's limit), so the SQL can be parametrised


def seed_catalog() -> Service:
    category = Category.objects.create(name="Bench Instagram", platform="instagram")
    return Service.objects.create(
        category=category,
        name="Bench followers",
        rate=Decimal("0.90"),
        min_quantity=10,
        max_quantity=1_000_000,
        link_rule="url",
    )


def seed_accounts(count: int) -> list[str]:
    user_model = get_user_model()
    keys = []
    for n in range(count):
        user = user_model.objects.create_user(f"bench{n}", f"bench{n}@example.com", "x")
        deposit_credit(user=user, amount=FUNDS, memo="bench funds")
        keys.append(api_key_issue(user=user)[1])
    return keys


def bench_map() -> None:
    """A table pgbench reads each client's account ids from (one indexed lookup)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TABLE bench_map AS
            SELECT row_number() OVER (ORDER BY u.id) AS n, u.id AS uid,
                   max(a.id) FILTER (WHERE a.kind = %s) AS acc_dep,
                   max(a.id) FILTER (WHERE a.kind = %s) AS acc_promo,
                   max(a.id) FILTER (WHERE a.kind = %s) AS acc_owed
            FROM accounts_user u JOIN billing_account a ON a.user_id = u.id
            WHERE u.username LIKE 'bench%%'
            GROUP BY u.id;
            CREATE UNIQUE INDEX ON bench_map (n);
            """,
            [Account.Kind.DEPOSITED, Account.Kind.PROMOTIONAL, Account.Kind.OWED],
        )


def _sequences() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.relname, s.relname FROM pg_class s
            JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')
            JOIN pg_class t ON t.oid = d.refobjid
            WHERE s.relkind = 'S'
            """
        )
        return cursor.fetchall()


def capture_add(service: Service) -> None:
    """Place one warm order as a distinctive user and write its SQL as a pgbench script."""
    tables = {}
    with connection.cursor() as cursor:
        for k, (table, sequence) in enumerate(_sequences()):
            start = ID_BASE + k * 1_000_000
            cursor.execute("SELECT setval(%s, %s, false)", [sequence, start])
            tables[table] = start
    user = get_user_model().objects.create_user("capture", "capture@example.com", "x")
    deposit_credit(user=user, amount=FUNDS, memo="bench funds")
    accounts = dict(Account.objects.filter(user=user).values_list("kind", "id"))
    # A first order warms what a busy panel has warm (caches, the sales account): the
    # captured one is what every later `add` sends.
    order_place(
        user=user,
        service_id=service.pk,
        link="https://instagram.com/capture_warm_up",
        quantity=1000,
        source=Order.Source.API,
    )
    # Ids handed out from here on are the ones the captured statements may carry.
    with connection.cursor() as cursor:
        for table, start in tables.items():
            cursor.execute(f'SELECT coalesce(max(id) + 1, 0) FROM "{table}"')  # noqa: S608
            tables[table] = max(start, cursor.fetchone()[0])
    statements: list[str] = []

    def capture(execute, sql, params, many, context):
        statements.append(context["cursor"].mogrify(sql, params) if params else sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        order_place(
            user=user,
            service_id=service.pk,
            link="https://instagram.com/capture",
            quantity=1000,
            source=Order.Source.API,
        )
    replacements = {
        str(user.pk): ":uid",
        str(accounts[Account.Kind.DEPOSITED]): ":acc_dep",
        str(accounts[Account.Kind.PROMOTIONAL]): ":acc_promo",
        str(accounts[Account.Kind.OWED]): ":acc_owed",
    }
    lines = [
        f"\\set n random(1, {ACCOUNTS})",
        "\\set r random(1, 2000000000)",
        "SELECT uid, acc_dep, acc_promo, acc_owed FROM bench_map WHERE n = :n \\gset",
        "BEGIN;",
    ]
    statements = [" ".join(sql.split()) for sql in statements]
    for index, captured in enumerate(statements):
        if re.match(r"^(BEGIN|COMMIT|ROLLBACK)\b", captured):
            continue
        sql = captured
        later = " ".join(statements[index + 1 :])
        for table, start in tables.items():
            inserting = sql.startswith(f'INSERT INTO "{table}"') and "RETURNING" in sql
            if inserting and re.search(rf"\b{start}\b", later):
                # An id handed out here is used later on: keep the one this run gets.
                sql += f" \\gset ret_{table}_"
            sql = re.sub(rf"\b{start}\b", f":ret_{table}_id", sql)
        for literal, variable in replacements.items():
            sql = re.sub(rf"(?<![\w:.-]){literal}(?![\w.-])", variable, sql)
        sql = sql.replace("https://instagram.com/capture", "https://instagram.com/pg_:client_id_:r")
        lines.append(sql if sql.endswith("_") else sql + ";")
    lines.append("COMMIT;")
    (OUT / "add.pgbench.sql").write_text("\n".join(lines) + "\n")


def capture_status(*, key: str, ids: list[int]) -> None:
    """The SQL of one warm `status` call of 100 ids, as the API view sends it."""
    body = {"key": key, "action": "status", "orders": ",".join(map(str, ids))}
    api_v2(RequestFactory().post("/api/v2", body))  # the first call fills the caches
    statements: list[str] = []

    def capture(execute, sql, params, many, context):
        statements.append(context["cursor"].mogrify(sql, params) if params else sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        response = api_v2(RequestFactory().post("/api/v2", body))
    if response.status_code != 200 or b"error" in response.content:
        raise RuntimeError(f"status of 100 ids failed: {response.content!r}")
    (OUT / "status100.json").write_text(json.dumps(statements))


def main() -> None:
    with transaction.atomic():
        service = seed_catalog()
    keys = seed_accounts(ACCOUNTS)
    bench_map()
    # A first order creates what every later one only uses (the panel's sales account, ...).
    # The first account's 100 orders are what `status` asks about.
    warm_up = get_user_model().objects.get(username="bench0")
    ids = [
        order_place(
            user=warm_up,
            service_id=service.pk,
            link=f"https://instagram.com/warm_up_{n}",
            quantity=1000,
            source=Order.Source.API,
        ).pk
        for n in range(100)
    ]
    (OUT / "keys.txt").write_text("\n".join(keys) + "\n")
    (OUT / "service.txt").write_text(str(service.pk))
    (OUT / "status_ids.txt").write_text(",".join(map(str, ids)))
    capture_status(key=keys[0], ids=ids)
    capture_add(service)


main()
