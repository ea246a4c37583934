from django.db import migrations


class Migration(migrations.Migration):
    """IdempotencyRecord moved to the ``core`` app: it leaves this app's state; its table stays and is
    renamed by core's migrations."""

    dependencies = [("shuyuan", "0001_idempotency_record"), ("core", "0001_idempotency_record_from_shuyuan")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="IdempotencyRecord")]),
    ]
