from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_from_events(apps, schema_editor):
    """Existing rows get their event's kind and visibility (the rows stay current: nothing to rewrite)."""
    Event = apps.get_model("events", "Event")
    ListedOccurrence = apps.get_model("events", "ListedOccurrence")
    of_event = Event.objects.filter(pk=OuterRef("event_id"))
    ListedOccurrence.objects.update(kind=Subquery(of_event.values("kind")[:1]),
                                    visibility=Subquery(of_event.values("visibility")[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ('events', '0007_listed_occurrences'),
    ]

    operations = [
        migrations.AddField(
            model_name='listedoccurrence',
            name='kind',
            field=models.CharField(choices=[('salon', '读者沙龙'), ('seminar', '法学研讨会'), ('tea_talk', '法官茶座'), ('reading', '读书活动'), ('lecture', '讲座')], default='', max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='listedoccurrence',
            name='visibility',
            field=models.CharField(choices=[('public', '公开'), ('internal', '院内')], default='', max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(copy_from_events, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='listedoccurrence',
            index=models.Index(fields=['kind', 'start'], name='listed_occurrence_kind'),
        ),
        migrations.AddIndex(
            model_name='listedoccurrence',
            index=models.Index(fields=['visibility', 'start'], name='listed_occurrence_visibility'),
        ),
    ]
