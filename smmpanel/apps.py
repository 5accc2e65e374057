from django.contrib.admin.apps import AdminConfig


class PanelAdminConfig(AdminConfig):
    default_site = "smmpanel.admin.PanelAdminSite"
