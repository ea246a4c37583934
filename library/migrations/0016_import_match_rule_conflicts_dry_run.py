"""Imports: the match rule's keys on Book, conflicts and decisions on ImportRecord, dry runs, and
"skipped" renamed "unchanged" (counts and outcomes)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fill_title_keys(apps, schema_editor):
    from library.matching import match_text

    Book = apps.get_model("library", "Book")
    books = list(Book.objects.only("id", "title"))
    for book in books:
        book.title_key = match_text(book.title)[:500]
    Book.objects.bulk_update(books, ["title_key"], batch_size=1000)


def skipped_to_unchanged(apps, schema_editor):
    apps.get_model("library", "ImportRecord").objects.filter(outcome="skipped").update(outcome="unchanged")


def unchanged_to_skipped(apps, schema_editor):
    apps.get_model("library", "ImportRecord").objects.filter(outcome="unchanged").update(outcome="skipped")


class Migration(migrations.Migration):

    dependencies = [
        ("library", "0015_sru_targets"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="book",
            name="title_key",
            field=models.CharField(blank=True, editable=False, max_length=500, verbose_name="题名匹配键"),
        ),
        migrations.AddField(
            model_name="book",
            name="source_control_number",
            field=models.CharField(blank=True, editable=False, max_length=100, verbose_name="来源控制号"),
        ),
        migrations.RunPython(fill_title_keys, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="book",
            index=models.Index(fields=["title_key", "year"], name="book_title_key"),
        ),
        migrations.AddIndex(
            model_name="book",
            index=models.Index(condition=models.Q(("source_control_number", ""), _negated=True),
                               fields=["source_control_number"], name="book_source_control_number"),
        ),
        migrations.RenameField(model_name="catalogimport", old_name="skipped", new_name="unchanged"),
        migrations.AddField(
            model_name="catalogimport",
            name="dry_run",
            field=models.BooleanField(default=False, verbose_name="试导入"),
        ),
        migrations.AddField(
            model_name="catalogimport",
            name="conflicts",
            field=models.PositiveIntegerField(default=0, verbose_name="冲突"),
        ),
        migrations.AlterField(
            model_name="importrecord",
            name="outcome",
            field=models.CharField(choices=[("created", "新增"), ("updated", "更新"), ("unchanged", "未变"),
                                            ("conflict", "冲突"), ("failed", "失败"), ("notice", "提示")],
                                   max_length=10, verbose_name="结果"),
        ),
        migrations.RunPython(skipped_to_unchanged, unchanged_to_skipped),
        migrations.AddField(
            model_name="importrecord",
            name="book",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to="library.book", verbose_name="图书"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="conflict_kind",
            field=models.CharField(blank=True, choices=[("fields", "数据不一致"), ("duplicate", "可能重复")],
                                   max_length=10, verbose_name="冲突类型"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="conflicts",
            field=models.JSONField(blank=True, default=list, verbose_name="不一致的字段"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="entry",
            field=models.JSONField(blank=True, null=True, verbose_name="解析后的记录"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="fingerprint",
            field=models.CharField(blank=True, max_length=64, verbose_name="书目指纹"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="decision",
            field=models.CharField(blank=True, choices=[("keep", "保留现有"), ("replace", "以导入为准"),
                                                        ("new", "另建新书")], max_length=8, verbose_name="决定"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="decided_by",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name="+", to=settings.AUTH_USER_MODEL, verbose_name="决定人"),
        ),
        migrations.AddField(
            model_name="importrecord",
            name="decided_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="决定时间"),
        ),
    ]
