"""Read-cache invalidation (smmpanel.readcache): staff's blocked patterns are written in the
admin, row by row; each save or delete bumps their stamp, so a new pattern refuses the very
next order (R-AUP-1)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smmpanel.readcache import stamp_bump

from .blocking import BLOCKED_STAMP
from .models import BlockedPattern


@receiver([post_save, post_delete], sender=BlockedPattern, dispatch_uid="readcache_blocked")
def _blocked_pattern_changed(sender, instance, **kwargs) -> None:
    stamp_bump(BLOCKED_STAMP)
