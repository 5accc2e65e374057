"""Admin: the ledger is read-only; grants and adjustments go through the services with a reason."""

from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.urls import reverse

from billing.models import Account, Deposit, PromoCode, Transaction
from billing.selectors import balance_get
from tests.billing.factories import fund
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

D = Decimal
ADJUST = reverse("admin:billing_account_adjust")


@pytest.fixture
def staff_client(client):
    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={})  # R-ACC-7
    client.force_login(staff)
    client.staff = staff
    return client


def test_ledger_rows_are_view_only(staff_client, customer):
    fund(customer, deposited="5")
    txn = Transaction.objects.get(user=customer)
    page = staff_client.get(reverse("admin:billing_transaction_change", args=[txn.pk]))
    assert page.status_code == 200
    assert 'name="memo"' not in page.content.decode()  # nothing editable
    assert staff_client.get(reverse("admin:billing_transaction_add")).status_code == 403
    delete = reverse("admin:billing_transaction_delete", args=[txn.pk])
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    account = Account.objects.get(user=customer, kind="deposited")
    change = reverse("admin:billing_account_change", args=[account.pk])
    staff_client.post(change, {"balance": "1000"})
    assert balance_get(user=customer).deposited == D("5")
    assert staff_client.get(reverse("admin:billing_account_changelist")).status_code == 200


def test_grant_promotional_credit_with_a_reason(staff_client, customer, assert_ledger_ok):
    response = staff_client.post(
        ADJUST,
        {
            "customer": customer.email,
            "action": "grant",
            "amount": "3.50",
            "reason": "sorry for the delay",
        },
    )
    txn = Transaction.objects.get(user=customer)
    assert response["Location"] == reverse("admin:billing_transaction_change", args=[txn.pk])
    assert (txn.reason, txn.actor, txn.memo) == (
        "promo_grant",
        staff_client.staff,
        "Promotional credit: sorry for the delay",
    )
    assert balance_get(user=customer).promotional == D("3.50")
    assert_ledger_ok()


def test_negative_adjustment_beyond_the_balance_is_owed(staff_client, customer, assert_ledger_ok):
    # R-BAL-5: a correction can leave the customer owing money.
    fund(customer, deposited="2.00")
    staff_client.post(
        ADJUST,
        {
            "customer": customer.username,
            "action": "adjust_deposited",
            "amount": "-3.00",
            "reason": "chargeback of deposit 9",
        },
    )
    balance = balance_get(user=customer)
    assert (balance.deposited, balance.owed) == (D("0"), D("1.00"))
    assert_ledger_ok()


def test_a_reason_is_required_and_errors_show_beside_fields(staff_client, customer):
    response = staff_client.post(
        ADJUST, {"customer": "nobody", "action": "grant", "amount": "-1", "reason": " "}
    )
    errors = response.context["form"].errors
    assert errors["reason"] == ["This field is required."]
    assert errors["customer"] == ["No customer with this username or email."]
    response = staff_client.post(
        ADJUST, {"customer": customer.username, "action": "grant", "amount": "-1", "reason": "ok!"}
    )
    assert response.context["form"].errors["amount"] == ["A grant is a positive amount."]
    assert not Transaction.objects.exists()


def test_adjusting_needs_the_permission(client, customer):
    clerk = StaffFactory(is_superuser=False)
    Authenticator.objects.create(user=clerk, type=Authenticator.Type.TOTP, data={})
    client.force_login(clerk)
    assert client.get(ADJUST).status_code == 403


def test_demo_data_gives_the_demo_customer_money_once(capsys):
    call_command("demo_data")
    call_command("demo_data")
    demo = Deposit.objects.get(memo="Demo top-up").user
    credited = Transaction.objects.filter(user=demo, reason__in=["deposit", "promo_grant"])
    assert sorted(credited.values_list("reason", flat=True)) == ["deposit", "promo_grant"]
    # The demo orders (orders.demo) then spend some of it; nothing else moves money.
    balance = balance_get(user=demo)
    spent = Transaction.objects.filter(user=demo, reason="spend").count()
    assert spent > 0
    assert balance.deposited + balance.promotional < D("55.00")
    assert PromoCode.objects.filter(code="WELCOME10").count() == 1
    assert "balance of demo: $50.00 deposited, $5.00 promotional" in capsys.readouterr().out
    call_command("ledger_check")
