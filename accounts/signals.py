"""Read-cache invalidation for writes made outside ``accounts.services`` (the admin, a shell,
a test): a saved or deleted key or account row bumps the keys' stamps (smmpanel.readcache)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smmpanel.readcache import stamp_bump

from .models import ApiKey, User
from .selectors import api_key_stamp
from .services import api_keys_uncache

# What a cached account's use of the API depends on (User.can_order); other saves, such as
# the last sign-in time, leave the cache alone.
STANDING_FIELDS = {"status", "is_active"}


@receiver([post_save, post_delete], sender=ApiKey, dispatch_uid="readcache_api_key")
def _api_key_changed(sender, instance, **kwargs) -> None:
    stamp_bump(api_key_stamp(instance.digest))


@receiver([post_save, post_delete], sender=User, dispatch_uid="readcache_user")
def _user_changed(sender, instance, update_fields=None, created=False, **kwargs) -> None:
    if created or (update_fields is not None and not STANDING_FIELDS & set(update_fields)):
        return
    api_keys_uncache(user=instance)
