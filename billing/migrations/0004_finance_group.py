"""The "Finance" staff group (issue 12) with the permissions to decide on money going out.

get_or_create: another migration (the staff roles of issue 13) may create the group too.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FINANCE_PERMISSIONS = [
    ("billing", "withdrawal", "approve_withdrawal"),
    ("billing", "withdrawal", "verify_withdrawal"),
    ("billing", "withdrawal", "offer_refund"),
    ("billing", "withdrawal", "view_withdrawal"),
    ("billing", "dispute", "view_dispute"),
    ("billing", "account", "restore_dormant"),
    ("billing", "account", "view_account"),
    ("billing", "dormancycase", "view_dormancycase"),
    ("billing", "commission", "view_commission"),
    ("billing", "customerflag", "view_customerflag"),
]


def forwards(apps, schema_editor):
    # Permissions of models created in this same migrate run do not exist yet.
    billing = apps.get_app_config("billing")
    previous = getattr(billing, "models_module", None)
    billing.models_module = previous or True
    create_permissions(billing, apps=apps, verbosity=0)
    billing.models_module = previous

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Finance")
    for app_label, model, codename in FINANCE_PERMISSIONS:
        permission = Permission.objects.filter(
            content_type__app_label=app_label, content_type__model=model, codename=codename
        ).first()
        if permission is not None:
            group.permissions.add(permission)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Finance").first()
    if group is not None:
        codenames = [codename for _, _, codename in FINANCE_PERMISSIONS]
        group.permissions.remove(
            *Permission.objects.filter(content_type__app_label="billing", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_money_exits"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
