"""Background jobs in the admin: librarians and superusers watch state, progress, errors and retries.

Everything is read-only (a job's row is written by the machinery); a failed job can be queued again
(an action).  The stack trace of a failure is shown to superusers only.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_tasks_db.models import DBTaskResult

from jobs.models import Job, WorkerBeat
from jobs.services import hand_over
from jobs.tasks import label_of

# The database backend's own rows are the queue's plumbing; the jobs below are what people look at.
if admin.site.is_registered(DBTaskResult):
    admin.site.unregister(DBTaskResult)


class KindFilter(admin.SimpleListFilter):
    """Kinds of job by the names people use (``job_task(label=…)``), not their code paths."""

    title = _("任务")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = Job.objects.order_by().values_list("kind", "task_path").distinct()
        return sorted({(kind, label_of(path)) for kind, path in kinds}, key=lambda item: str(item[1]))

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind_label", "state", "progress", "attempts", "created_by", "created_at", "finished_at",
                    "error")
    list_filter = ("state", KindFilter)
    search_fields = ("kind", "key", "error")
    date_hierarchy = "created_at"
    actions = ["retry"]
    FIELDS = ("kind", "key", "state", "progress_done", "progress_total", "summary", "error", "attempts",
              "max_attempts", "payload", "created_by", "created_at", "enqueued_at", "run_after", "started_at",
              "heartbeat_at", "finished_at", "worker", "backend_id", "task_path")

    def get_fields(self, request, obj=None):
        return (*self.FIELDS, "error_detail") if request.user.is_superuser else self.FIELDS

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def lookup_allowed(self, lookup, value, request=None):
        # The list filters only by what it offers (state, kind, date): a filter on error_detail in the URL
        # would let a librarian read a superuser-only stack trace one guessed character at a time, and
        # JSON lookups on payload are not supported by SQLite (a 500).
        return lookup.split("__", 1)[0] in ("state", "kind", "created_at") and super().lookup_allowed(
            lookup, value, request)

    @admin.display(description=_("任务"), ordering="kind")
    def kind_label(self, obj: Job) -> str:
        return label_of(obj.task_path)

    @admin.display(description=_("进度"))
    def progress(self, obj: Job) -> str:
        if obj.progress_total:
            return f"{obj.progress_done}/{obj.progress_total} ({obj.percent}%)"
        return str(obj.progress_done or "")

    @admin.action(description=_("重新排队所选失败任务"), permissions=["change"])
    def retry(self, request, queryset):
        ids = list(queryset.filter(state=Job.State.FAILED).values_list("pk", flat=True))
        with transaction.atomic():
            changed = Job.objects.filter(pk__in=ids, state=Job.State.FAILED).update(
                state=Job.State.QUEUED, enqueued_at=None, run_after=None, attempts=0, error="", finished_at=None)
            for pk in ids:
                transaction.on_commit(lambda pk=pk: hand_over(pk))
        self.message_user(request, _("已重新排队 %(n)d 个任务") % {"n": changed}, messages.SUCCESS)


@admin.register(WorkerBeat)
class WorkerBeatAdmin(admin.ModelAdmin):
    list_display = ("worker_id", "hostname", "pid", "backend", "started_at", "seen_at")
    readonly_fields = ("worker_id", "hostname", "pid", "backend", "started_at", "seen_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
