"""Fill the law-name dictionary from data/laws.csv (``manage.py load_law_names`` adds later entries)."""

from django.db import migrations


def load(apps, schema_editor):
    from search_index.laws import read_csv

    LawName = apps.get_model("search_index", "LawName")
    db = schema_editor.connection.alias
    known = set(LawName.objects.using(db).values_list("code", flat=True))
    LawName.objects.using(db).bulk_create([LawName(**row) for row in read_csv() if row["code"] not in known],
                                          batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("search_index", "0003_lawname")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
