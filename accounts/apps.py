from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        # Staff roles (issue 11): groups kept up to date with new permissions after migrate.
        from accounts.roles import roles_sync

        post_migrate.connect(roles_sync, dispatch_uid="accounts.roles_sync")
