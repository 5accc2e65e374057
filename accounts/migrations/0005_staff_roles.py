"""Staff roles Support, Finance and Admin as groups with permissions (accounts/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def roles_create(apps, schema_editor):
    # Permissions are normally created after all migrations; create them now so the
    # groups can hold them on a fresh database.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from accounts.roles import roles_apply

    roles_apply(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )


def roles_remove(apps, schema_editor):
    from accounts.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_notices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("billing", "0002_ledger_rules"),
        ("catalog", "0001_initial"),
        ("orders", "0003_order_overlapped"),
        ("support", "0001_tickets_claims_abuse"),
    ]

    operations = [migrations.RunPython(roles_create, roles_remove)]
