"""The abuse queue (R-SUP-4): anyone reports a violation; staff move it through its statuses."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from support.exceptions import SupportRefused
from support.images import images_clean
from support.models import ABUSE_TRANSITIONS, AbuseEvent, AbuseReport, AbuseStatus
from support.services.attachments import attachments_store


def abuse_report_create(
    *,
    reporter,
    email: str,
    link: str,
    order_reference: str,
    description: str,
    uploads=(),
    ip_address: str | None = None,
) -> AbuseReport:
    link = (link or "").strip()
    order_reference = (order_reference or "").strip()
    description = (description or "").strip()
    if not link and not order_reference:
        raise SupportRefused(
            gettext("Give the link or the order reference you are reporting."), field="link"
        )
    if len(description) < 10:
        raise SupportRefused(
            gettext("Describe the violation (at least 10 characters)."), field="description"
        )
    images = images_clean(uploads=uploads)
    with transaction.atomic():
        report = AbuseReport.objects.create(
            reporter=reporter if reporter is not None and reporter.is_authenticated else None,
            email=(email or "").strip(),
            link=link,
            order_reference=order_reference,
            description=description,
            ip_address=ip_address,
        )
        AbuseEvent.objects.create(report=report, new_status=report.status)
        attachments_store(images=images, abuse_report=report)
    return report


def abuse_transition(*, report_id: int, new: str, actor, note: str = "") -> AbuseEvent:
    with transaction.atomic():
        report = AbuseReport.objects.select_for_update().get(pk=report_id)
        old = report.status
        if new not in ABUSE_TRANSITIONS[old]:
            raise SupportRefused(
                f"Report #{report.pk} is {AbuseStatus(old).label}; "
                f"it cannot become {AbuseStatus(new).label}."
            )
        report.status = new
        report.save(update_fields=["status", "updated_at"])
        return AbuseEvent.objects.create(
            report=report, old_status=old, new_status=new, actor=actor, note=note[:500]
        )
