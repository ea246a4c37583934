import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("library", "0010_register_locations")]

    operations = [
        migrations.AlterField(
            model_name="hold",
            name="pickup_location",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="holds",
                                    to="library.location", verbose_name="取书地点"),
        ),
    ]
