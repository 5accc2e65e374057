"""Balance history: every movement with source, reason, link and running balance (R-BAL-7)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.ledger import Split, split_return
from billing.models import Transaction
from billing.selectors import history_for_user
from billing.services import deposit_manual_create, funds_return, funds_spend, promo_credit_grant
from tests.billing.factories import fund
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
HISTORY = reverse("billing:history")


@pytest.fixture
def story(customer):
    """A deposit, a grant, an order charged from both sources and a partial return."""
    deposit = deposit_manual_create(user=customer, amount=D("10.00"), memo="bank transfer")
    promo_credit_grant(user=customer, amount=D("2.00"), memo="Welcome credit")
    spend = funds_spend(
        user=customer, amount=D("3.00"), memo="Order #77", ref_kind="order", ref_id=77
    )
    back = split_return(amount=D("1.50"), paid=spend.split, returned=Split())
    funds_return(user=customer, split=back, memo="Order #77 partial", ref_kind="order", ref_id=77)
    return deposit


def test_rows_carry_source_changes_and_running_balance(customer, story):
    rows = list(history_for_user(user=customer))
    summary = [
        (r.reason, r.deposited, r.promotional, r.change, r.balance_after) for r in reversed(rows)
    ]
    assert summary == [
        ("deposit", D("10.00"), D("0"), D("10.00"), D("10.00")),
        ("promo_grant", D("0"), D("2.00"), D("2.00"), D("12.00")),
        ("spend", D("-1.00"), D("-2.00"), D("-3.00"), D("9.00")),
        ("return", D("0.50"), D("1.00"), D("1.50"), D("10.50")),
    ]


def test_page_shows_split_links_and_reasons(client, customer, story):
    client.force_login(customer)
    page = client.get(HISTORY).content.decode()
    # Header: the balance split (R-BAL-2).
    assert 'id="split-total">$10.50<' in page
    assert 'id="split-deposited">$9.50<' in page
    assert 'id="split-promotional">$1.00<' in page
    # Reasons, memos and links to the payment and to the order (R-BAL-7).
    payment_url = reverse("billing:deposit_detail", args=[story.pk])
    assert f'<a href="{payment_url}">Payment #{story.pk}</a>' in page
    assert "Order #77 partial" in page
    assert "Order charge" in page
    assert "Promotional credit" in page
    assert f'<a href="{reverse("orders:detail", args=[77])}">Order #77</a>' in page


def test_filters_by_source_movement_and_date(client, customer, story):
    client.force_login(customer)

    def reasons(**params):
        response = client.get(HISTORY, params)
        return [txn.reason for txn in response.context["page"].object_list]

    assert reasons(source="promotional") == ["return", "spend", "promo_grant"]
    assert reasons(source="deposited") == ["return", "spend", "deposit"]
    assert reasons(reason="spend") == ["spend"]
    today = timezone.now().date()
    assert len(reasons(date_from=today, date_to=today)) == 4
    assert reasons(date_from=today + timedelta(days=1)) == []
    assert len(reasons(date_from="not a date")) == 4  # an invalid filter is ignored


def test_csv_export_follows_the_filters(client, customer, story):
    client.force_login(customer)
    response = client.get(reverse("billing:history_csv"), {"source": "deposited"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="balance-history-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "date (UTC)",
        "movement",
        "description",
        "reference",
        "link",
        "deposited",
        "promotional",
        "owed",
        "balance after",
    ]
    assert [row[1] for row in rows[1:]] == ["Return", "Order charge", "Deposit"]
    deposit_row = rows[3]
    assert deposit_row[3] == f"deposit {story.pk}"
    assert deposit_row[4].endswith(reverse("billing:deposit_detail", args=[story.pk]))
    assert deposit_row[5:] == ["10.00", "0.00", "0.00", "10.00"]  # the display rule


def test_someone_elses_movements_never_show(client, customer, story):
    other = UserFactory()
    fund(other, deposited="99")
    client.force_login(other)
    page = client.get(HISTORY).content.decode()
    assert "Order #77" not in page
    assert "$99.00" in page
    assert Transaction.objects.filter(user=customer).count() == 4


def test_history_is_paginated(client, customer, settings):
    settings.BILLING_HISTORY_PAGE_SIZE = 2
    for _ in range(5):
        promo_credit_grant(user=customer, amount=D("1"), memo="grant")
    client.force_login(customer)
    response = client.get(HISTORY, {"reason": "promo_grant", "page": 3})
    assert len(response.context["page"].object_list) == 1
    assert "Page 3 of 3" in response.content.decode()
    assert "reason=promo_grant&amp;page=2" in response.content.decode()


def test_navbar_shows_the_balance_split(client, customer):
    fund(customer, deposited="12.34", promotional="0.27819")
    client.force_login(customer)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="balance-total">$12.61819<' in page
    assert 'id="balance-deposited">$12.34<' in page
    assert 'id="balance-promotional">$0.27819<' in page
    assert f'href="{HISTORY}">Balance history</a>' in page


def test_navbar_shows_no_balance_when_signed_out(client):
    assert "balance-badge" not in client.get(reverse("home")).content.decode()
