"""Read-cache invalidation for writes made outside ``catalog.services`` (the admin's custom
rates, a shell, a test): a saved or deleted service or custom rate bumps its stamp
(smmpanel.readcache)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smmpanel.readcache import stamp_bump

from .models import CustomRate, Service
from .selectors import SERVICES_STAMP, rates_stamp


@receiver([post_save, post_delete], sender=Service, dispatch_uid="readcache_service")
def _service_changed(sender, instance, created=False, **kwargs) -> None:
    if not created:  # a new service was never cached
        stamp_bump(SERVICES_STAMP)


@receiver([post_save, post_delete], sender=CustomRate, dispatch_uid="readcache_custom_rate")
def _custom_rate_changed(sender, instance, **kwargs) -> None:
    stamp_bump(rates_stamp(instance.user_id))
