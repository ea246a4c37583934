"""The 院领导 role (``manager``): its group, so a database migrated to here has it before anyone is given the role.

``accounts.services.roles_ensure`` (run after every migrate) creates the groups too; this migration makes the
role part of the schema's history, and taking it back removes the group only while nobody holds it.
"""

from django.db import migrations

MANAGER = "manager"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).get_or_create(name=MANAGER)


def remove_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name=MANAGER, user__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_calendar_links"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
