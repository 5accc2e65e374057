"""Read-cache invalidation (smmpanel.readcache): the panel's own accounts are cached by kind;
should one ever be saved or deleted outside the ledger services, their stamp is bumped."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from smmpanel.readcache import stamp_bump

from .models import Account
from .services.ledger import LEDGER_ACCOUNTS_STAMP


@receiver([post_save, post_delete], sender=Account, dispatch_uid="readcache_ledger_accounts")
def _panel_account_changed(sender, instance, created=False, **kwargs) -> None:
    if instance.user_id is None and not created:  # a new one was never cached
        stamp_bump(LEDGER_ACCOUNTS_STAMP)
