"""A notice to a person: recorded once under a unique key, rendered from a template, then sent."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Notice(models.Model):
    """A message to a reader, recorded under a unique key so that it is sent once.

    ``about`` names what it is about (``loan:12``, ``hold:7``, ``registration:5``, ``event:3``) without a
    foreign key into the apps that write notices (they sit above this one)."""

    class Kind(models.TextChoices):
        # Circulation (library.notices)
        DUE_SOON = "due_soon", _("即将到期")
        OVERDUE = "overdue", _("逾期")
        HOLD_READY = "hold_ready", _("预约到书")
        HOLD_EXPIRED = "hold_expired", _("预约过期")
        # Events (events.notices)
        REGISTERED = "registered", _("报名成功")
        PROMOTED = "promoted", _("候补转正")
        EVENT_CHANGED = "event_changed", _("活动变更")
        EVENT_CANCELLED = "event_cancelled", _("活动取消")
        EVENT_REMINDER = "event_reminder", _("活动提醒")

    key = models.CharField(_("去重键"), max_length=160, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    patron = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices", verbose_name=_("读者")
    )
    about = models.CharField(_("关于"), max_length=40, blank=True, db_index=True,
                             help_text=_("所涉记录，如 loan:12、hold:7、registration:5"))
    subject = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("正文"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    #: When the reader saw it in their notice list (/me/notices); unread notices are counted in the header.
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)
    #: Set by the sender that is mailing it (notices.services), so two workers never send it twice; a claim
    #: older than ``services.CLAIM_SECONDS`` belonged to a sender that died and is taken over.
    sending_since = models.DateTimeField(_("发送中"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sent_at"], name="notice_sent_at"),
                   models.Index(fields=["patron", "read_at"], name="notice_patron_unread")]

    def __str__(self) -> str:
        return self.key
