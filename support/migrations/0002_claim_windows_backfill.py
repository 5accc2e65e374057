"""Claim windows for orders that ended Completed or Partial before the support app existed,
so claims on recent orders are not refused for want of a window (R-ORD-14)."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone


def backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    ClaimWindow = apps.get_model("support", "ClaimWindow")
    days = timedelta(days=settings.SUPPORT_CLAIM_WINDOW_DAYS)
    now = timezone.now()
    recent = Order.objects.filter(
        status__in=["completed", "partial"],
        beta=False,
        completed_at__gt=now - days,
        claim_window__isnull=True,
    ).values_list("pk", "completed_at")
    ClaimWindow.objects.bulk_create(
        [
            ClaimWindow(order_id=pk, opened_at=ended, closes_at=ended + days)
            for pk, ended in recent.iterator(chunk_size=2000)
        ],
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [("support", "0001_tickets_claims_abuse")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
