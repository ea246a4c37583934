"""Stored RRULEs with a floating UNTIL (a date, or a date-time without Z) get the UTC UNTIL that input
now produces (a date means through the end of that day in library time).  Feeds normalise on output
anyway; this keeps the stored rule, the API's answer and the feed the same text."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations


def _utc(value: str) -> str:
    if value.endswith("Z"):
        return value
    local = datetime.strptime(value, "%Y%m%dT%H%M%S" if "T" in value else "%Y%m%d")
    if "T" not in value:
        local = local.replace(hour=23, minute=59, second=59)
    return local.replace(tzinfo=ZoneInfo(settings.TIME_ZONE)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def forwards(apps, schema_editor):
    Event = apps.get_model("events", "Event")
    for event in Event.objects.filter(rrule__icontains="UNTIL=").only("pk", "rrule"):
        parts = [piece.partition("=") for piece in event.rrule.split(";") if piece]
        try:
            rule = ";".join(f"{k}={_utc(v.upper()) if k.upper() == 'UNTIL' else v}" for k, _, v in parts)
        except ValueError:
            continue  # not a rule input would accept: left for a person to fix
        if rule != event.rrule:
            # update(), not save(): no new revision, sequence or notices for a change of spelling.
            Event.objects.filter(pk=event.pk).update(rrule=rule)


class Migration(migrations.Migration):
    dependencies = [("events", "0005_single_line_text")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
