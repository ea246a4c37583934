import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """Notice, formerly the ``library`` app's: taken over with its table as it is (state only), then
    renamed to this app's table name by the next migration."""

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("library", "0007_notice_moves_to_notices"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Notice",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("key", models.CharField(max_length=160, unique=True, verbose_name="去重键")),
                        ("kind", models.CharField(choices=[("due_soon", "即将到期"), ("overdue", "逾期"), ("hold_ready", "预约到书"), ("hold_expired", "预约过期"), ("registered", "报名成功"), ("promoted", "候补转正"), ("event_changed", "活动变更"), ("event_cancelled", "活动取消"), ("event_reminder", "活动提醒")], max_length=16, verbose_name="类型")),
                        ("about", models.CharField(blank=True, db_index=True, help_text="所涉记录，如 loan:12、hold:7、registration:5", max_length=40, verbose_name="关于")),
                        ("subject", models.CharField(max_length=200, verbose_name="标题")),
                        ("body", models.TextField(verbose_name="正文")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="创建时间")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="发送时间")),
                        ("sending_since", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="发送中")),
                        ("patron", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="notices", to=settings.AUTH_USER_MODEL, verbose_name="读者")),
                    ],
                    options={
                        "verbose_name": "通知",
                        "verbose_name_plural": "通知",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["sent_at"], name="notice_sent_at")],
                        "db_table": "library_notice",
                    },
                ),
            ],
        ),
    ]
