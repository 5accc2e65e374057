import logging

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.selectors import notices_unread
from billing.selectors import balance_get, spend_since
from orders.models import Order
from orders.selectors import order_status_counts, orders_recent_for_user
from support.selectors import tickets_open_for_user

from .celery import app as celery_app

logger = logging.getLogger(__name__)


def home(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "home.html")


@login_required
def dashboard(request):
    """Balance with its split, spend this month, orders by status, recent orders, unread
    notices and open tickets (issue 14)."""
    user = request.user
    month_start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    counts = order_status_counts(user=user)
    context = {
        "balance": balance_get(user=user),
        "spend_month": spend_since(user=user, since=month_start),
        "month_start": month_start,
        "status_counts": [(value, label, counts[value]) for value, label in Order.Status.choices],
        "orders_total": sum(counts.values()),
        "recent_orders": orders_recent_for_user(user=user),
        "notices": notices_unread(user=user),
        "tickets": tickets_open_for_user(user=user),
    }
    return render(request, "dashboard.html", context)


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin): the SVG."""
    return redirect(static("favicon.svg"), permanent=True)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure means "unreachable" to the probe
        logger.exception("healthz: database unreachable")
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any failure means "unreachable" to the probe
        logger.exception("healthz: broker unreachable")
        return False


@never_cache
@require_GET
def healthz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    body = {name: "ok" if ok else "unreachable" for name, ok in checks.items()}
    body["status"] = "ok" if all(checks.values()) else "degraded"
    return JsonResponse(body, status=200 if all(checks.values()) else 503)
