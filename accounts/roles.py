"""Staff roles as Django groups (R-SUP-2, R-ACC-7): what each kind of staff may do.

- **Support**: the desk and the abuse queue, canned replies; reads orders, customers and the
  catalog; no money actions, no catalog or provider edits.
- **Finance**: ledger grants and adjustments (``billing.adjust_balance``), order actions that
  return money, withdrawals, refunds, disputes and dormancy restores; reads what it needs.
- **Admin**: every permission.

Every staff member needs TOTP whatever the role (``smmpanel.admin.PanelAdminSite``,
``support.desk``). ``roles_apply`` only adds permissions, so it never takes away what another
migration gave a group; it runs in ``accounts/migrations/0005_staff_roles.py`` and after
every ``migrate`` (``accounts.apps``), so Admin gets the permissions of models added later.
"""

from __future__ import annotations

SUPPORT = "Support"
FINANCE = "Finance"
ADMIN = "Admin"
ALL = "*"

_READ_CUSTOMERS_AND_ORDERS = [
    "accounts.view_user",
    "orders.view_order",
    "orders.view_orderevent",
    "orders.view_staffqueueorder",
    "catalog.view_category",
    "catalog.view_service",
    "catalog.view_provider",
    "catalog.view_providerservice",
]

ROLES: dict[str, list[str] | str] = {
    SUPPORT: [
        *_READ_CUSTOMERS_AND_ORDERS,
        "support.work_desk",
        "support.view_ticket",
        "support.view_ticketmessage",
        "support.view_attachment",
        "support.view_claimwindow",
        "support.handle_abuse",
        "support.view_abusereport",
        "support.view_cannedreply",
        "support.add_cannedreply",
        "support.change_cannedreply",
        "support.delete_cannedreply",
    ],
    FINANCE: [
        *_READ_CUSTOMERS_AND_ORDERS,
        "billing.adjust_balance",
        "billing.view_account",
        "billing.view_transaction",
        "billing.view_entry",
        "billing.view_deposit",
        "billing.view_promocode",
        "billing.view_promoredemption",
        "support.order_money_actions",
        "support.view_ticket",
        # Money going out (R-WDR-*, R-PAY-4, R-DOR-*, R-PRO-3).
        "billing.approve_withdrawal",
        "billing.verify_withdrawal",
        "billing.offer_refund",
        "billing.view_withdrawal",
        "billing.view_dispute",
        "billing.restore_dormant",
        "billing.view_dormancycase",
        "billing.view_commission",
        "billing.view_customerflag",
    ],
    ADMIN: ALL,
}


def roles_apply(*, group_model, permission_model) -> None:
    """Create the role groups and add their permissions (those that exist); never removes."""
    for name, wanted in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = permission_model.objects.all()
        if wanted != ALL:
            pairs = [code.split(".", 1) for code in wanted]
            by_app: dict[str, list[str]] = {}
            for app_label, codename in pairs:
                by_app.setdefault(app_label, []).append(codename)
            selected = permission_model.objects.none()
            for app_label, codenames in by_app.items():
                selected = selected | permissions.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            permissions = selected
        group.permissions.add(*permissions)


def roles_sync(sender=None, **kwargs) -> None:
    """``post_migrate`` receiver: the roles again, with any permissions created since.

    Runs once per migrate (or test flush), for the last app, when every app's permissions
    exist."""
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    if sender is not None and sender.label != list(apps.get_app_configs())[-1].label:
        return
    roles_apply(group_model=Group, permission_model=Permission)
