"""A notice to a person: recorded once under a unique key, rendered from a template, then sent through the
channels the reader chose for its kind (``NoticePreference``), each delivery recorded (``NoticeDelivery``)."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.net import OutboundRefused, outbound_url_check
from notices.channels import channel_label


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
    #: A channel failed: the next try is not before this (the wait doubles with each failed try).
    retry_at = models.DateTimeField(_("下次重试"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["sent_at"], name="notice_sent_at"),
                   models.Index(fields=["patron", "read_at"], name="notice_patron_unread")]

    def __str__(self) -> str:
        return self.key


#: The kinds as a reader's preferences group them: (key, label, kinds).
KIND_GROUPS = (
    ("loans", pgettext_lazy("notice kinds", "借阅"), (Notice.Kind.DUE_SOON, Notice.Kind.OVERDUE, Notice.Kind.HOLD_READY, Notice.Kind.HOLD_EXPIRED)),
    ("events", pgettext_lazy("notice kinds", "活动"), (Notice.Kind.REGISTERED, Notice.Kind.PROMOTED, Notice.Kind.EVENT_CHANGED,
                          Notice.Kind.EVENT_CANCELLED, Notice.Kind.EVENT_REMINDER)),
)
#: The channels of a kind the reader has not chosen for: e-mail (skipped while they have no address).
DEFAULT_CHANNELS = ("email",)


class Reminder(models.TextChoices):
    """When a reader is reminded of an event they registered for: by a notice (events.notices) and by the
    VALARMs of their calendar feed (events.ical)."""

    NONE = "none", _("不提醒")
    DAY = "day", _("提前一天")
    HOUR = "hour", _("提前一小时")
    BOTH = "both", _("提前一天和一小时")


#: A reader without a preference is reminded the day before.
DEFAULT_REMINDER = Reminder.DAY
#: How long before an occurrence each choice reminds (the feed's VALARM triggers).
REMINDER_OFFSETS = {
    Reminder.NONE: (),
    Reminder.DAY: (timedelta(days=1),),
    Reminder.HOUR: (timedelta(hours=1),),
    Reminder.BOTH: (timedelta(days=1), timedelta(hours=1)),
}
#: The choices that include each reminder notice.
REMINDS_DAY_BEFORE = (Reminder.DAY, Reminder.BOTH)
REMINDS_HOUR_BEFORE = (Reminder.HOUR, Reminder.BOTH)


def reminder_offsets(choice: str) -> tuple[timedelta, ...]:
    """The offsets of a stored choice; an unknown value (written past the checks) is the default."""
    return REMINDER_OFFSETS.get(choice, REMINDER_OFFSETS[DEFAULT_REMINDER])


def validate_webhook_url(value: str) -> None:
    """A chat robot's URL the server may post to (``core.net.outbound_url_check`` with NOTICE_WEBHOOK_HOSTS)."""
    try:
        outbound_url_check(value, allowed_hosts=settings.NOTICE_WEBHOOK_HOSTS)
    except OutboundRefused as exc:
        raise ValidationError(str(exc), code=exc.code) from None


class NoticePreference(models.Model):
    """Where one reader's notices go besides their notice list, which holds every notice anyway.

    ``channels`` maps a kind to the channel names chosen for it (``{"overdue": ["email", "sms"]}``); a kind
    missing from it takes ``DEFAULT_CHANNELS``, and a reader without a row has the defaults for every kind.
    One row per reader, read whole by the sender and written whole by the form and the API
    (docs/design.md, "Notices that reach people")."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notice_preference", verbose_name=_("读者"))
    channels = models.JSONField(_("各类通知的渠道"), default=dict, blank=True)
    #: The reader's own chat robot (企业微信/政务微信 group robot): it holds a secret key, so it is shown
    #: to the reader only, never in the admin.
    webhook_url = models.CharField(_("机器人地址"), max_length=500, blank=True, validators=[validate_webhook_url])
    #: When events the reader registered for are announced ahead: notices and the feed's alarms.
    remind_before = models.CharField(_("活动提醒"), max_length=8, choices=Reminder.choices, default=DEFAULT_REMINDER)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("通知偏好")
        verbose_name_plural = _("通知偏好")

    def __str__(self) -> str:
        return f"notice preference {self.user_id}"

    def clean(self) -> None:
        if not isinstance(self.channels, dict):
            raise ValidationError({"channels": ValidationError(_("应为每类通知的渠道列表"), code="invalid")})
        offered = list(settings.NOTICE_CHANNELS)
        errors = {}
        for kind, names in self.channels.items():
            field = f"channels.{kind}"
            if kind not in Notice.Kind.values:
                errors[field] = ValidationError(_("未知的通知类型 %(kind)s（可选：%(kinds)s）"), code="unknown_kind",
                                                params={"kind": kind, "kinds": ", ".join(Notice.Kind.values)})
            elif not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                errors[field] = ValidationError(_("应为渠道名称的列表"), code="invalid")
            elif unknown := [name for name in names if name not in offered]:
                errors[field] = ValidationError(_("未知的渠道 %(names)s（可选：%(channels)s）"), code="unknown_channel",
                                                params={"names": ", ".join(unknown), "channels": ", ".join(offered)})
        if errors:
            raise ValidationError(errors)


def chosen_channels(preference: NoticePreference | None, kind: str) -> list[str]:
    """The channels (of those configured, in their order) that deliver a notice of ``kind`` to the reader
    whose preference this is (None: a reader who never chose)."""
    stored = preference.channels if preference is not None and isinstance(preference.channels, dict) else {}
    chosen = stored.get(kind, DEFAULT_CHANNELS)
    return [name for name in settings.NOTICE_CHANNELS if name in chosen]


class NoticeDelivery(models.Model):
    """One notice through one channel: planned when the notice is first sent (from the reader's preference
    then), tried until it is sent, skipped (no address for the channel: no mobile number, no robot) or
    failed (``NOTICE_DELIVERY_ATTEMPTS`` tries, or an answer that will not change).  At most one row per
    notice and channel, so a channel never delivers a notice twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        SKIPPED = "skipped", _("未发送")

    # No index of its own: the unique constraint's index (notice, channel) serves ``notice.deliveries``.
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("通知"),
                               db_index=False)
    channel = models.CharField(_("渠道"), max_length=16)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近的错误或原因"), max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(_("最近尝试"), null=True, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知投递")
        verbose_name_plural = _("通知投递")
        ordering = ["notice_id", "id"]
        constraints = [models.UniqueConstraint(fields=["notice", "channel"], name="notice_delivery_once")]

    def __str__(self) -> str:
        return f"{self.notice_id}:{self.channel}"

    @property
    def channel_label(self) -> str:
        return channel_label(self.channel)
