from django.apps import AppConfig


class LegalConfig(AppConfig):
    name = "legal"

    def ready(self) -> None:
        from . import signals  # noqa: F401  read-cache invalidation (smmpanel.readcache)
