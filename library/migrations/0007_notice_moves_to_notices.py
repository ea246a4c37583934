from django.db import migrations, models


def about_from_foreign_keys(apps, schema_editor):
    Notice = apps.get_model("library", "Notice")
    for prefix, field in (("loan", "loan_id"), ("hold", "hold_id")):
        for pk, ref in Notice.objects.filter(**{f"{field}__isnull": False}).values_list("pk", field).iterator():
            Notice.objects.filter(pk=pk).update(about=f"{prefix}:{ref}")


class Migration(migrations.Migration):
    """Notices move to the ``notices`` app (one model for loans, holds and events): the loan and hold
    foreign keys become ``about`` ("loan:12"), then the model leaves this app's state; the table is taken
    over and renamed by notices' migrations."""

    dependencies = [("library", "0006_catalog_import")]

    operations = [
        migrations.AddField(
            model_name="notice",
            name="about",
            field=models.CharField(blank=True, db_index=True, default="", max_length=40, verbose_name="关于",
                                   help_text="所涉记录，如 loan:12、hold:7、registration:5"),
            preserve_default=False,
        ),
        migrations.RunPython(about_from_foreign_keys, migrations.RunPython.noop),
        migrations.RemoveField(model_name="notice", name="loan"),
        migrations.RemoveField(model_name="notice", name="hold"),
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Notice")]),
    ]
