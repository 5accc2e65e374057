from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from billing.money import ZERO, usd_text
from orders.models import Order

from .charts import bar_chart, hbar_chart
from .selectors import dashboard_data

STATUS_LABELS = dict(Order.Status.choices)


def _dashboard(request):
    """The operator dashboard (R-PRV-2): for Admins (superusers or ``stats.view_dailyfigures``)."""
    user = request.user
    if not (user.is_superuser or user.has_perm("stats.view_dailyfigures")):
        raise PermissionDenied
    data = dashboard_data()
    rows = data["rows"]

    def series(name):
        return [(row.day.strftime("%m-%d"), getattr(row, name)) for row in rows]

    def money_chart(name, color, label):
        """Money in the one display rule, as the totals (billing.money.usd_text, issue 14)."""
        return bar_chart(series(name), color=color, label=label, value_text=usd_text)

    totals = {
        name: sum((getattr(row, name) for row in rows), ZERO)
        for name in ("deposits", "sales", "provider_cost", "gross_profit")
    }
    by_status = data["live"].get("orders_by_status", {})
    context = {
        **data,
        "totals": totals,
        "orders_total": sum(row.orders for row in rows),
        "registrations": sum(row.registrations for row in rows),
        "sign_ins": sum(row.sign_ins for row in rows),
        "sign_ins_new": sum(row.sign_ins_new for row in rows),
        "sign_ins_returning": sum(row.sign_ins_returning for row in rows),
        "charts": {
            "deposits": money_chart("deposits", "#0d6efd", "Deposits by day"),
            "sales": money_chart("sales", "#6610f2", "Sales by day"),
            "provider_cost": money_chart("provider_cost", "#fd7e14", "Provider cost by day"),
            "gross_profit": money_chart("gross_profit", "#198754", "Gross profit by day"),
            "orders": bar_chart(series("orders"), color="#0dcaf0", label="Orders by day"),
            "status": hbar_chart(
                [(STATUS_LABELS.get(k, k), by_status[k]) for k in STATUS_LABELS if k in by_status]
            ),
        },
    }
    return render(request, "stats/dashboard.html", context)


dashboard = admin.site.admin_view(_dashboard)  # staff with TOTP only (R-ACC-7)
