from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_notice_from_library")]

    operations = [migrations.AlterModelTable(name="Notice", table=None)]
