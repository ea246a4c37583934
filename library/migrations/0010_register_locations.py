"""Data for 0009: the places copies name become Locations; open holds are picked up where their copy is.

Its own migration (its own transaction): on PostgreSQL, altering the hold table after updating its rows in
the same transaction fails with "pending trigger events" (the deferred foreign-key checks)."""

from django.db import migrations


def register_locations(apps, schema_editor):
    """Every place copies and loan policies name becomes a Location; all of them were serving readers, so all
    are pickup points (院本部 first)."""
    from django.utils.text import slugify
    from pypinyin import lazy_pinyin

    Location = apps.get_model("library", "Location")
    Copy = apps.get_model("library", "Copy")
    LoanPolicy = apps.get_model("library", "LoanPolicy")
    names = ["院本部", *sorted(set(Copy.objects.values_list("location", flat=True))
                              | set(LoanPolicy.objects.exclude(location="").values_list("location", flat=True)))]
    codes = set()
    for position, name in enumerate(dict.fromkeys(n for n in names if n)):
        base = "main" if name == "院本部" else (slugify("-".join(lazy_pinyin(name))) or "location")[:28]
        code, n = base, 1
        while code in codes:
            n += 1
            code = f"{base}-{n}"
        codes.add(code)
        Location.objects.create(name=name, code=code, pickup=True, position=position)


def holds_pick_up_where_their_copy_is(apps, schema_editor):
    Location = apps.get_model("library", "Location")
    Hold = apps.get_model("library", "Hold")
    by_name = {loc.name: loc.pk for loc in Location.objects.all()}
    main = by_name["院本部"]
    for hold in Hold.objects.select_related("copy"):
        hold.pickup_location_id = by_name.get(hold.copy.location, main) if hold.copy_id else main
        hold.save(update_fields=["pickup_location"])


class Migration(migrations.Migration):
    dependencies = [("library", "0009_locations_pickup_transfers")]

    operations = [
        migrations.RunPython(register_locations, migrations.RunPython.noop),
        migrations.RunPython(holds_pick_up_where_their_copy_is, migrations.RunPython.noop),
    ]
