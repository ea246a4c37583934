from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0001_idempotency_record_from_shuyuan")]

    operations = [migrations.AlterModelTable(name="IdempotencyRecord", table=None)]
