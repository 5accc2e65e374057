from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from billing.money import ZERO
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
            "deposits": bar_chart(series("deposits"), label="Deposits by day"),
            "sales": bar_chart(series("sales"), color="#6610f2", label="Sales by day"),
            "provider_cost": bar_chart(
                series("provider_cost"), color="#fd7e14", label="Provider cost by day"
            ),
            "gross_profit": bar_chart(
                series("gross_profit"), color="#198754", label="Gross profit by day"
            ),
            "orders": bar_chart(series("orders"), color="#0dcaf0", label="Orders by day"),
            "status": hbar_chart(
                [(STATUS_LABELS.get(k, k), by_status[k]) for k in STATUS_LABELS if k in by_status]
            ),
        },
    }
    return render(request, "stats/dashboard.html", context)


dashboard = admin.site.admin_view(_dashboard)  # staff with TOTP only (R-ACC-7)
