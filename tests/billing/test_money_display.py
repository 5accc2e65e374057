"""One money display rule on every page and CSV (issue 14): whole cents as $12.50, other
amounts to the ledger's places without trailing zeros ($0.315, $27.0142), rates the same,
negatives with a minus sign (U+2212)."""

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.template import Context, Template

from billing.money import usd_change, usd_text
from tests.customer_pages import csv_urls, customer_urls, demo_customer

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("0", "$0.00"),
        ("0.00000", "$0.00"),
        ("12.5", "$12.50"),
        ("0.31500", "$0.315"),
        ("27.01420", "$27.0142"),
        ("0.00001", "$0.00001"),
        ("1250", "$1,250.00"),
        ("-0.06", f"{MINUS}$0.06"),
        ("-0.05600", f"{MINUS}$0.056"),
        ("0.000004", "$0.00"),  # rounded to the ledger's places first
        (Decimal("3.00000"), "$3.00"),
        (7, "$7.00"),
    ],
)
def test_usd_text_is_the_one_display_rule(amount, text):
    assert usd_text(amount) == text


def test_a_change_is_signed_and_none_is_empty():
    assert usd_change(Decimal("5")) == "+$5.00"
    assert usd_change(Decimal("-1.2")) == f"{MINUS}$1.20"
    assert usd_change(Decimal("0")) == ""


def test_template_filters_use_the_rule():
    rendered = Template(
        "{% load billing_tags %}{{ a|usd }}|{{ b|usd }}|{{ c|signed_usd }}|{{ d|usd }}"
    ).render(Context({"a": Decimal("0.31500"), "b": Decimal("-0.06"), "c": Decimal("-0.056"),
                      "d": None}))  # fmt: skip
    assert rendered == f"$0.315|{MINUS}$0.06|{MINUS}$0.056|"


# What the rule forbids in what a person reads.
PADDED = re.compile(r"\$[\d,]+\.\d{2,}0(?!\d)")  # $0.31500, $3.000
ONE_PLACE = re.compile(r"\$[\d,]+\.\d(?!\d)")  # $1.5
NO_CENTS = re.compile(r"\$\d[\d,]*(?![\d,]*\.\d)")  # $0, $10
HYPHEN_MINUS = re.compile(r"-\s*\$\d")  # -$0.06
TOO_PRECISE = re.compile(r"\$[\d,]+\.\d{6,}")
MONEY = re.compile(rf"{MINUS}?\$[\d,]+\.\d{{2,5}}")


def _visible_text(page: str) -> str:
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _problems(text: str) -> list[str]:
    found = []
    for name, pattern in [
        ("padded", PADDED),
        ("one decimal place", ONE_PLACE),
        ("no cents", NO_CENTS),
        ("hyphen minus", HYPHEN_MINUS),
        ("more than the ledger's places", TOO_PRECISE),
    ]:
        found += [f"{name}: {match.group(0)!r}" for match in pattern.finditer(text)]
    return found


@pytest.mark.django_db
def test_every_customer_page_shows_money_by_the_rule(client):
    user = demo_customer()
    client.force_login(user)
    urls = customer_urls(user)
    assert len(urls) >= 12
    shown = 0
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        text = _visible_text(response.content.decode())
        assert _problems(text) == [], url
        # the services JSON for New Order carries the rule's rates too (its script formats them)
        shown += len(MONEY.findall(text))
    assert shown > 40
    history = _visible_text(client.get("/billing/history/").content.decode())
    assert MINUS + "$" in history  # spends show as negatives, by the rule
    orders = _visible_text(client.get("/orders/").content.decode())
    assert re.search(r"\$0\.\d*[1-9]", orders)  # fractional-cent charges keep their places


@pytest.mark.django_db
def test_every_csv_writes_money_by_the_rule(client):
    user = demo_customer()
    client.force_login(user)
    amount = re.compile(r"^-?\d+\.\d+$")
    for url in csv_urls():
        response = client.get(url)
        assert response.status_code == 200, url
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) > 2, url
        cells = [cell for row in rows[1:] for cell in row if amount.match(cell)]
        assert cells, url
        for cell in cells:
            _whole, fraction = cell.lstrip("-").split(".")
            assert 2 <= len(fraction) <= 5, (url, cell)
            assert len(fraction) == 2 or not fraction.endswith("0"), (url, cell)
        assert not [cell for row in rows for cell in row if "$" in cell], url
