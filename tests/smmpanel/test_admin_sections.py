"""The admin for operators (issue 14): sections named for their work, a customer's page with
balance, orders and ledger links, the provider balance with its age, fetched on demand."""

from decimal import Decimal

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from catalog.models import Provider
from orders.services import order_staff_partial
from tests.catalog.factories import ServiceFactory
from tests.factories import StaffFactory
from tests.orders.factories import funded_customer, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    staff = StaffFactory()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.TOTP, data={"secret": "x"})
    client.force_login(staff)
    return client


def test_admin_sections_are_named_for_the_work(operator):
    response = operator.get(reverse("admin:index"))
    app_list = response.context["app_list"]
    sections = [app["name"] for app in app_list]
    assert sections[:4] == ["Customers", "Orders", "Catalog", "Money"]
    assert len(sections) == len(set(sections))  # no two sections with one name
    assert "Accounts" not in sections
    by_name = {app["name"]: {model["object_name"] for model in app["models"]} for app in app_list}
    assert {"User", "ApiKey", "EmailAddress"} <= by_name["Customers"]
    assert {"Order", "BlockedPattern"} <= by_name["Orders"]
    assert {"Service", "Provider"} <= by_name["Catalog"]
    assert {"Transaction", "Deposit", "PromoCode"} <= by_name["Money"]
    # an app's own page still lists just its models
    own = operator.get(reverse("admin:app_list", args=["billing"]))
    assert [app["app_label"] for app in own.context["app_list"]] == ["billing"]


def test_user_page_shows_balance_split_recent_orders_and_ledger_links(operator):
    customer = funded_customer(deposited="20", promotional="1.50")
    service = ServiceFactory(rate=Decimal("0.31500"), name="Likes [Fast]")
    order = place(customer, service, quantity=1000)
    order_staff_partial(order_id=order.pk, remains=500, actor=None, reason="short")
    page = operator.get(reverse("admin:accounts_user_change", args=[customer.pk])).content.decode()
    assert "Money, orders and tickets" in page
    assert "<strong>$21.3425</strong> (Deposited Funds $20.00, Promotional Credit $1.3425)" in page
    assert reverse("admin:orders_order_change", args=[order.pk]) in page
    assert "Likes [Fast]" in page
    assert "$0.315" in page
    for name in ("billing_transaction", "billing_account", "billing_deposit", "orders_order"):
        link = reverse(f"admin:{name}_changelist") + f"?user__id__exact={customer.pk}"
        assert link in page
        assert operator.get(link).status_code == 200  # the admin accepts the filter


def test_provider_balance_fetched_on_demand_with_its_age(operator, sim_provider, simulator):
    simulator.set_balance("321.5")
    changelist = reverse("admin:catalog_provider_changelist")
    assert "not fetched yet" in operator.get(changelist).content.decode()
    response = operator.post(
        changelist, {"action": "refresh_balances", "_selected_action": [sim_provider.pk]}
    )
    assert response.status_code == 302
    sim_provider.refresh_from_db()
    assert sim_provider.balance == Decimal("321.50000")
    page = operator.get(changelist).content.decode()
    assert "$321.50 · 0\xa0minutes ago" in page  # the one money display rule, not "321.50000"


def test_a_new_provider_gets_its_balance_at_once(
    operator, simulator, django_capture_on_commit_callbacks
):
    from tests.catalog.fixtures import SIMULATOR_KEY

    simulator.set_balance("99")
    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(
            reverse("admin:catalog_provider_add"),
            {
                "name": "Fresh",
                "api_url": simulator.url,
                "api_key": SIMULATOR_KEY,
                "status": "active",
                "balance_alert_threshold": "0",
            },
        )
    assert response.status_code == 302
    assert Provider.objects.get(name="Fresh").balance == Decimal("99.00000")


def test_user_page_lists_recent_tickets(operator):
    from support.models import Ticket
    from support.services import ticket_open

    customer = funded_customer(deposited="5")
    url = reverse("admin:accounts_user_change", args=[customer.pk])
    assert "No tickets." in operator.get(url).content.decode()
    ticket = ticket_open(user=customer, kind=Ticket.Kind.OTHER, subject="Where is my bonus?",
                         body="It did not show.")  # fmt: skip
    page = operator.get(url).content.decode()
    assert "Recent tickets" in page
    assert reverse("desk:ticket", args=[ticket.pk]) in page
    assert "Where is my bonus?" in page


def test_every_admin_list_shows_money_by_the_one_display_rule(rf):
    """No admin list shows a money field raw ("50.00000"): each goes through usd_text."""
    from django.contrib import admin

    from billing.admin_columns import is_money_field

    request = rf.get("/admin/")
    request.user = StaffFactory()
    raw = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        for name in model_admin.get_list_display(request)
        if isinstance(name, str) and is_money_field(model, name)
    ]
    assert raw == []


def test_admin_money_columns_render_by_the_rule(operator):
    funded_customer(deposited="50")
    ServiceFactory(rate=Decimal("0.31500"))
    accounts = operator.get(reverse("admin:billing_account_changelist")).content.decode()
    assert "$50.00" in accounts
    assert "50.00000" not in accounts
    services = operator.get(reverse("admin:catalog_service_changelist")).content.decode()
    assert "$0.315" in services
    assert "0.31500" not in services
