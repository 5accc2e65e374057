"""Writes of the catalog: services, providers and their keys, custom rates, staff notices.

The import/sync from a provider lives in ``catalog.sync``.
"""

import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from billing.money import currency_text
from smmpanel.readcache import stamp_bump

from . import crypto
from .exceptions import InvalidCatalogChange
from .models import (
    CustomRate,
    Provider,
    ProviderUnclassifiedAnswer,
    Service,
    ServiceUpdate,
    StaffNotice,
)
from .provider_client import ProviderClient, ProviderResult
from .selectors import SERVICES_STAMP, rates_stamp

logger = logging.getLogger(__name__)


# --- services -------------------------------------------------------------------------------
def service_changes(*, old: Service | None, new: Service) -> list[ServiceUpdate]:
    """The public Updates lines (unsaved) that going from ``old`` to ``new`` makes."""
    if old is None:
        return [ServiceUpdate(service=new, kind=ServiceUpdate.Kind.ADDED, new_rate=new.rate)]
    updates = []
    if new.rate != old.rate:
        kind = ServiceUpdate.Kind.PRICE_UP if new.rate > old.rate else ServiceUpdate.Kind.PRICE_DOWN
        updates.append(ServiceUpdate(service=new, kind=kind, old_rate=old.rate, new_rate=new.rate))
    if new.enabled != old.enabled:
        kind = ServiceUpdate.Kind.ENABLED if new.enabled else ServiceUpdate.Kind.DISABLED
        updates.append(ServiceUpdate(service=new, kind=kind, new_rate=new.rate))
    return updates


def service_save(*, service: Service) -> Service:
    """Create or change a service as staff edited it, and write its Updates lines.

    Switching ``enabled`` off by hand records the reason "staff"; on clears any reason.
    """
    with transaction.atomic():
        old = None
        if service.pk:
            old = Service.objects.select_for_update().filter(pk=service.pk).first()
        if service.enabled:
            service.disabled_reason = ""
        elif not service.disabled_reason or (old is not None and old.enabled):
            service.disabled_reason = Service.DisabledReason.STAFF
        if service.beta and service.refill:
            raise InvalidCatalogChange("A beta service carries no refill (R-CAT-5).")
        service.save()
        ServiceUpdate.objects.bulk_create(service_changes(old=old, new=service))
        stamp_bump(SERVICES_STAMP)  # the next order sees the new price and limits
    return service


def service_set_enabled(
    *, service: Service, enabled: bool, reason: str = Service.DisabledReason.STAFF
) -> Service:
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        if service.enabled == enabled:
            return service
        service.enabled = enabled
        service.disabled_reason = "" if enabled else reason
        service.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        stamp_bump(SERVICES_STAMP)
        kind = ServiceUpdate.Kind.ENABLED if enabled else ServiceUpdate.Kind.DISABLED
        ServiceUpdate.objects.create(service=service, kind=kind, new_rate=service.rate)
    return service


def service_flag_pricing_error(*, service: Service, note: str, actor=None) -> Service:
    """Staff flag an obvious pricing error (R-CAT-4): the service stops selling at once.

    Cancelling the orders placed at the wrong price, with a full return, is the orders app's
    part; it finds them by ``service`` and ``pricing_error_at``.
    """
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=service.pk)
        service.pricing_error_at = timezone.now()
        service.pricing_error_note = note
        was_enabled = service.enabled
        service.enabled = False
        service.disabled_reason = Service.DisabledReason.PRICING_ERROR
        service.save()
        stamp_bump(SERVICES_STAMP)
        if was_enabled:
            ServiceUpdate.objects.create(
                service=service, kind=ServiceUpdate.Kind.DISABLED, new_rate=service.rate
            )
        who = f" by {actor}" if actor else ""
        staff_notify(
            notices=[
                StaffNotice(
                    kind=StaffNotice.Kind.PRICING_ERROR,
                    service=service,
                    message=f"Pricing error flagged on {service}{who}: {note}",
                )
            ],
            subject=f"Pricing error flagged on service #{service.pk}",
        )
    return service


# --- custom rates (R-CAT-6) ------------------------------------------------------------------
def custom_rate_set(
    *,
    user,
    service: Service | None = None,
    rate: Decimal | None = None,
    discount_percent: Decimal | None = None,
    note: str = "",
) -> CustomRate:
    """Give ``user`` a fixed rate for ``service``, or a discount on it or on every service."""
    if (rate is None) == (discount_percent is None):
        raise InvalidCatalogChange("Give either a rate or a discount.")
    if rate is not None and service is None:
        raise InvalidCatalogChange("A fixed rate needs a service.")
    with transaction.atomic():
        custom, _ = CustomRate.objects.update_or_create(
            user=user,
            service=service,
            defaults={"rate": rate, "discount_percent": discount_percent, "note": note},
        )
        stamp_bump(rates_stamp(user.pk))  # the customer's next order pays the new rate
    return custom


# --- providers (R-PRV-5) ---------------------------------------------------------------------
def provider_save(*, provider: Provider, api_key: str | None = None) -> Provider:
    """Create or change a provider; a new ``api_key`` is encrypted before it is stored."""
    with transaction.atomic():
        if api_key:
            provider.set_api_key(api_key.strip())
        if not provider.api_key_encrypted:
            raise InvalidCatalogChange("A provider needs an API key.")
        provider.save()
    return provider


def provider_create(*, name: str, api_url: str, api_key: str, **fields) -> Provider:
    fields.setdefault("balance_alert_threshold", settings.PROVIDER_BALANCE_ALERT_THRESHOLD)
    return provider_save(provider=Provider(name=name, api_url=api_url, **fields), api_key=api_key)


def provider_keys_rotate(*, include_secret_key: bool = False) -> int:
    """Re-encrypt every provider key with the first configured key; returns how many."""
    count = 0
    with transaction.atomic():
        for provider in Provider.objects.select_for_update().order_by("pk"):
            provider.api_key_encrypted = crypto.rotate(
                provider.api_key_encrypted, include_secret_key=include_secret_key
            )
            provider.save(update_fields=["api_key_encrypted"])
            count += 1
    return count


_UNCLASSIFIED_UPSERT = """
    INSERT INTO {table} (provider_id, action, text, count, first_seen, last_seen)
    VALUES (%s, %s, %s, 1, %s, %s)
    ON CONFLICT (provider_id, action, text)
    DO UPDATE SET count = {table}.count + 1, last_seen = excluded.last_seen
"""


def provider_answer_unclassified_record(*, provider_id: int, action: str, text: str) -> None:
    """Count one error text the provider client could not classify (one atomic upsert).

    Never breaks the caller: the caller is the client, in the middle of a relay or a poll.
    """
    text = " ".join(str(text).split())[: ProviderUnclassifiedAnswer.TEXT_LENGTH] or "(empty)"
    now = timezone.now()
    table = connection.ops.quote_name(ProviderUnclassifiedAnswer._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                _UNCLASSIFIED_UPSERT.format(table=table),
                [provider_id, action[:32], text, now, now],
            )
    except DatabaseError:
        logger.exception("could not record an unclassified answer of provider %s", provider_id)


def provider_balance_refresh(*, provider: Provider, client=None) -> ProviderResult:
    """Ask the provider for its balance, store it, and tell staff when it falls low.

    Staff hear once per fall below ``balance_alert_threshold``, again only after it recovered.
    """
    client = client or ProviderClient(provider)
    result = client.balance()  # outside the transaction: no lock held during HTTP
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        if not result.ok:
            provider.last_error = f"balance: {result.error}"
            provider.save(update_fields=["last_error"])
            return result
        provider.balance = result.data["balance"]
        provider.currency = result.data["currency"][:8]
        provider.balance_checked_at = timezone.now()
        provider.last_error = ""
        low = provider.balance < provider.balance_alert_threshold
        if low and provider.balance_low_notified_at is None:
            provider.balance_low_notified_at = timezone.now()
            staff_notify(
                notices=[
                    StaffNotice(
                        kind=StaffNotice.Kind.LOW_BALANCE,
                        provider=provider,
                        message=(
                            f"{provider.name}: balance "
                            f"{currency_text(provider.balance, provider.currency)} is below "
                            f"{currency_text(provider.balance_alert_threshold, provider.currency)}."
                            " Top it up."
                        ),
                    )
                ],
                subject=f"Provider {provider.name}: balance low",
            )
        elif not low:
            provider.balance_low_notified_at = None
        provider.save()
    return result


# --- staff notices ------------------------------------------------------------------------------
def staff_notify(*, notices: list[StaffNotice], subject: str) -> list[StaffNotice]:
    """Store notices for the admin and mail one summary to active staff after commit."""
    if not notices:
        return []
    with transaction.atomic():
        created = StaffNotice.objects.bulk_create(notices)
        body = "\n".join(notice.message for notice in created[:200])
        if len(created) > 200:
            body += f"\n… and {len(created) - 200} more (see the admin's staff notices)."
        transaction.on_commit(lambda: _mail_staff(subject=subject, body=body))
    return created


def staff_notices_acknowledge(*, notices) -> int:
    """Mark notices (a queryset) as seen; returns how many were not yet."""
    with transaction.atomic():
        return notices.filter(acknowledged_at__isnull=True).update(acknowledged_at=timezone.now())


def _mail_staff(*, subject: str, body: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        prefix = f"[{settings.SITE_NAME}] "
        send_mail(prefix + subject, body, None, recipients, fail_silently=True)
    else:
        logger.warning("catalog notice with no staff to mail: %s", subject)
