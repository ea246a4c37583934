from django.db import migrations, models


class Migration(migrations.Migration):
    """IdempotencyRecord, formerly the ``shuyuan`` app's: taken over with its table as it is (state only),
    then renamed to core's table name by the next migration."""

    initial = True

    dependencies = [("shuyuan", "0001_idempotency_record")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("owner", models.CharField(max_length=64)),
                        ("key", models.CharField(max_length=255)),
                        ("fingerprint", models.CharField(help_text="SHA-256 of method, path and body", max_length=64)),
                        ("status", models.PositiveSmallIntegerField()),
                        ("content_type", models.CharField(max_length=100)),
                        ("body", models.BinaryField()),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                    ],
                    options={
                        "verbose_name": "幂等请求记录",
                        "verbose_name_plural": "幂等请求记录",
                        "constraints": [models.UniqueConstraint(fields=("owner", "key"), name="idempotency_key_once_per_owner")],
                        "db_table": "shuyuan_idempotencyrecord",
                    },
                ),
            ],
        ),
    ]
