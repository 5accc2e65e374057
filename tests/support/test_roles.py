"""Staff roles as groups made by a migration (R-SUP-2, R-ACC-7)."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import ADMIN, FINANCE, SUPPORT
from support.models import Ticket
from support.services import ticket_open
from tests.catalog.factories import ServiceFactory
from tests.orders.factories import OrderFactory
from tests.support.helpers import staff_with_role

pytestmark = pytest.mark.django_db

ADJUST = "/admin/billing/account/adjust/"


def _perms(name):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Group.objects.get(name=name).permissions.select_related("content_type")
    }


def test_the_migration_creates_the_three_roles():  # R-SUP-2
    support, finance, admin = _perms(SUPPORT), _perms(FINANCE), _perms(ADMIN)
    assert {"support.work_desk", "support.handle_abuse", "orders.view_order"} <= support
    assert "accounts.view_user" in support
    assert not {p for p in support if p.startswith("billing.")}
    assert not {p for p in support if p.startswith("catalog.") and not p.startswith("catalog.view")}
    assert "billing.adjust_balance" in finance
    assert "support.order_money_actions" in finance
    assert not {p for p in finance if p.startswith("catalog.") and not p.startswith("catalog.view")}
    assert {"catalog.change_service", "billing.adjust_balance", "support.work_desk"} <= admin


def test_support_cannot_grant_credit(client, customer):  # R-SUP-2
    client.force_login(staff_with_role(SUPPORT))
    assert client.get("/admin/").status_code == 200  # the admin opens (TOTP set up)...
    assert client.get(ADJUST).status_code == 403  # ...but no money action
    response = client.post(
        ADJUST,
        {"customer": customer.pk, "action": "grant", "amount": "50", "reason": "Goodwill"},
    )
    assert response.status_code == 403


def test_finance_grants_credit_but_cannot_edit_the_catalog(client):  # R-SUP-2
    service = ServiceFactory()
    client.force_login(staff_with_role(FINANCE))
    assert client.get(ADJUST).status_code == 200
    change = reverse("admin:catalog_service_change", args=[service.pk])
    assert client.get(reverse("admin:catalog_service_add")).status_code == 403
    assert client.post(change, {"name": "Hacked"}).status_code == 403
    service.refresh_from_db()
    assert service.name != "Hacked"
    assert client.get(reverse("desk:queue")).status_code == 403  # not a desk agent


def test_support_cannot_edit_the_catalog_or_providers(client):  # R-SUP-2
    service = ServiceFactory()
    client.force_login(staff_with_role(SUPPORT))
    assert client.get(reverse("admin:catalog_service_change", args=[service.pk])).status_code == 200
    assert (
        client.post(
            reverse("admin:catalog_service_change", args=[service.pk]), {"name": "X"}
        ).status_code
        == 403
    )
    assert client.get(reverse("admin:catalog_provider_add")).status_code == 403


def test_admin_role_may_do_everything(client):  # R-SUP-2
    client.force_login(staff_with_role(ADMIN))
    assert client.get(ADJUST).status_code == 200
    assert client.get(reverse("admin:catalog_service_add")).status_code == 200
    assert client.get(reverse("desk:queue")).status_code == 200


def test_a_support_agent_cannot_return_money_from_the_desk(client, customer):  # R-SUP-2
    order = OrderFactory(user=customer)
    ticket = ticket_open(
        user=customer, kind=Ticket.Kind.ORDER, subject="S", body="B", order_ids=[order.pk]
    )
    client.force_login(staff_with_role(SUPPORT))
    url = reverse("desk:order_action", args=[ticket.pk, order.pk, "cancel"])
    assert client.post(url, {"reason": "please"}).status_code == 403
    order.refresh_from_db()
    assert order.status == order.Status.PENDING
    page = client.get(reverse("desk:ticket", args=[ticket.pk])).content.decode()
    assert "Cancel with a full return" not in page


def test_every_staff_member_needs_totp_for_the_desk(client):  # R-ACC-7
    client.force_login(staff_with_role(SUPPORT, totp=False))
    response = client.get(reverse("desk:queue"))
    assert response.status_code == 302
    assert "/accounts/2fa/totp/activate" in response.url
    assert client.get("/admin/billing/account/").status_code == 302


def test_order_actions_that_return_money_are_not_supports(client, customer):  # R-SUP-2
    order = OrderFactory(user=customer)
    changelist = reverse("admin:orders_order_changelist")
    client.force_login(staff_with_role(SUPPORT))
    page = client.get(changelist)
    assert page.status_code == 200
    actions = dict(page.context["action_form"].fields["action"].choices)
    assert "cancel_with_return" not in actions
    assert "mark_partial" not in actions
    client.post(
        changelist,
        {"action": "cancel_with_return", "_selected_action": [order.pk], "apply": "1",
         "reason": "x"},
    )  # fmt: skip
    order.refresh_from_db()
    assert order.status == order.Status.PENDING
    client.force_login(staff_with_role(FINANCE))
    actions = dict(client.get(changelist).context["action_form"].fields["action"].choices)
    assert {"cancel_with_return", "mark_partial"} <= set(actions)


def test_roles_sync_adds_new_permissions_and_keeps_other_apps_grants():  # R-SUP-2
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from accounts.roles import roles_sync
    from billing.models import Deposit

    other_apps_grant = Permission.objects.create(
        codename="approve_withdrawal_test",
        name="Can approve withdrawals (another app)",
        content_type=ContentType.objects.get_for_model(Deposit),
    )
    finance = Group.objects.get(name=FINANCE)
    finance.permissions.add(other_apps_grant)
    roles_sync()
    assert "billing.approve_withdrawal_test" in _perms(ADMIN)  # Admin: everything, also later
    assert "billing.approve_withdrawal_test" in _perms(FINANCE)  # never taken away
    assert "billing.approve_withdrawal_test" not in _perms(SUPPORT)


def test_support_edits_canned_replies_in_the_admin(client):  # R-SUP-2
    client.force_login(staff_with_role(SUPPORT))
    response = client.post(
        reverse("admin:support_cannedreply_add"),
        {"title": "Refill started", "body": "We started a refill.", "kind": "", "is_active": "on"},
    )
    assert response.status_code == 302
    from support.models import CannedReply

    assert CannedReply.objects.get().title == "Refill started"
    assert client.get(reverse("admin:support_ticket_add")).status_code == 403


def test_support_reads_customers_but_cannot_change_their_status(client, customer):  # R-SUP-2
    client.force_login(staff_with_role(SUPPORT))
    changelist = reverse("admin:accounts_user_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert "account_close" not in page.content.decode()
    response = client.post(
        changelist,
        {"action": "account_close", "_selected_action": [customer.pk], "apply": "1",
         "reason": "Support tried"},
    )  # fmt: skip
    customer.refresh_from_db()
    assert customer.status == "active"
    assert response.status_code in (200, 302)


def test_admins_still_change_account_status(client, customer):  # R-SUP-2, R-ACC-5
    client.force_login(staff_with_role(ADMIN))
    changelist = reverse("admin:accounts_user_changelist")
    assert "account_suspend" in client.get(changelist).content.decode()
    client.post(
        changelist,
        {"action": "account_suspend", "_selected_action": [customer.pk], "apply": "1",
         "reason": "Chargeback review"},
    )  # fmt: skip
    customer.refresh_from_db()
    assert customer.status == "suspended"
