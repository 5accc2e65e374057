from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Tools for development and tests (the provider simulator); no models, no pages."""

    name = "devtools"
    verbose_name = "Development tools"
