"""Read-cache invalidation (smmpanel.readcache): a legal document saved or deleted, however
(publishing, the admin, a shell), bumps the Terms stamp, so a material version published to
take effect now is asked for on the very next order (R-LEG-2)."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smmpanel.readcache import stamp_bump

from .models import Document
from .selectors import TERMS_STAMP


@receiver([post_save, post_delete], sender=Document, dispatch_uid="readcache_terms")
def _document_changed(sender, instance, **kwargs) -> None:
    stamp_bump(TERMS_STAMP)
