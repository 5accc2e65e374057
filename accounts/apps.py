from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self) -> None:
        from accounts.roles import roles_sync

        from . import signals  # noqa: F401  read-cache invalidation (smmpanel.readcache)

        # Staff roles (issue 11): groups kept up to date with new permissions after migrate.
        post_migrate.connect(roles_sync, dispatch_uid="accounts.roles_sync")
