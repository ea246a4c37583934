"""Background jobs as the library sees them: what was asked for, how far it got, how it ended.

The queue itself belongs to the task backend (Django's Tasks API: the database backend on one machine,
RQ on Redis for several).  A ``Job`` row is written in the transaction that asks for the work, so the
request and its job commit or vanish together; the backend only carries the job's id.  The row is what
the pages and the admin show (state, progress, counts, a reason without a stack trace) and what makes
the work survive a worker killed mid-job: a running job whose heartbeat stops is queued again.
"""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.models import person_link


class Job(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    OPEN = (State.QUEUED, State.RUNNING)

    kind = models.CharField(_("类型"), max_length=100)
    #: The Tasks API task that runs it (``module.function``), so a retry can enqueue it again.
    task_path = models.CharField(_("任务"), max_length=200)
    #: Coalescing key: at most one *queued* job per key ("search_index.drain", "paper_extract:42").
    key = models.CharField(_("键"), max_length=200, blank=True)
    payload = models.JSONField(_("参数"), default=dict, blank=True)
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.QUEUED)
    progress_done = models.PositiveIntegerField(_("已完成"), default=0)
    progress_total = models.PositiveIntegerField(_("总数"), null=True, blank=True)
    #: What the job reports when done (an import's counts, an extraction's outcome).
    summary = models.JSONField(_("结果"), default=dict, blank=True)
    #: For the people who asked: one line, no stack trace.
    error = models.CharField(_("错误"), max_length=500, blank=True)
    #: The stack trace, shown to superusers only.
    error_detail = models.TextField(_("错误详情"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    max_attempts = models.PositiveSmallIntegerField(_("最多尝试"), default=3)
    created_by = person_link(_("发起人"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    #: When the backend accepted it; NULL while only this row knows of it (the recovery hands those over).
    enqueued_at = models.DateTimeField(_("入队时间"), null=True, blank=True)
    backend_id = models.CharField(_("后端任务号"), max_length=64, blank=True)
    run_after = models.DateTimeField(_("不早于"), null=True, blank=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    heartbeat_at = models.DateTimeField(_("心跳"), null=True, blank=True)
    worker = models.CharField(_("工作进程"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("后台任务")
        verbose_name_plural = _("后台任务")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(state="queued") & ~Q(key=""), name="job_one_queued_per_key"
            ),
            models.CheckConstraint(condition=Q(state__in=["queued", "running", "done", "failed"]),
                                   name="job_state_valid"),
        ]
        indexes = [
            # The recovery's scans: running jobs by heartbeat, queued jobs by hand-over.
            models.Index(fields=["state", "heartbeat_at"], name="job_state_heartbeat"),
            # The admin's and the pages' lists of one kind's jobs, newest first.
            models.Index(fields=["kind", "-created_at"], name="job_kind_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.state == self.State.DONE else None
        return min(100, round(100 * self.progress_done / self.progress_total))


class WorkerBeat(models.Model):
    """A worker process that is alive: written when it starts and every few seconds after (``/readyz``)."""

    worker_id = models.CharField(_("工作进程"), max_length=100, unique=True)
    hostname = models.CharField(_("主机"), max_length=200)
    pid = models.PositiveIntegerField(_("进程号"))
    backend = models.CharField(_("后端"), max_length=100)
    started_at = models.DateTimeField(_("启动时间"))
    seen_at = models.DateTimeField(_("最近心跳"), db_index=True)

    class Meta:
        verbose_name = _("工作进程")
        verbose_name_plural = _("工作进程")
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return self.worker_id
