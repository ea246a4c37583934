"""Events: venues, salons, seminars, tea talks and reading activities; their recurrence, exceptions and registrations.

A recurring event is stored as its series (an RFC 5545 RRULE with EXDATEs) plus per-occurrence
overrides; ``events.recurrence`` expands it for a date range.  Listings read ``ListedOccurrence``,
the occurrences of a window around today written when an event changes (``events.listing``).
Occurrences are identified by their original start (``recurrence_id``), as in iCalendar.
"""

import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.models import person_link
from core.text import validate_single_line
from events.recurrence import check_length, check_window, is_original_occurrence, normalize_exdates, normalize_rrule
from library.models import Book, Paper


class Venue(models.Model):
    name = models.CharField(_("名称"), max_length=100, unique=True, validators=[validate_single_line],
                            help_text=_("例如 法官书苑阅览室、第三审判庭"))
    location = models.CharField(_("位置"), max_length=200, blank=True, validators=[validate_single_line],
                                help_text=_("例如 院本部三楼"))
    capacity = models.PositiveIntegerField(_("容纳人数"), default=30)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("场地")
        verbose_name_plural = _("场地")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(capacity__gte=1), name="venue_capacity_positive")]

    def __str__(self) -> str:
        return self.name


#: The span of an event whose stored occurrences are not current (``events.listing.EMPTY``).
NOT_LISTED = datetime(1970, 1, 1, tzinfo=UTC)
#: The fields of an event its stored occurrences are made of, kind and visibility included (listings filter
#: on the rows' copies); capacity, description … are read from the event itself.
_LISTED_FIELDS = {"start", "end", "rrule", "exdates", "title", "venue", "venue_id", "status", "kind", "visibility"}


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """As ``QuerySet.update``; an update that may change what the events' occurrences look like also
        marks their stored occurrences as not current (no signal would tell ``events.listing``)."""
        if set(kwargs) & _LISTED_FIELDS:
            kwargs.setdefault("listed_from", NOT_LISTED)
            kwargs.setdefault("listed_until", NOT_LISTED)
        return super().update(**kwargs)


class Event(models.Model):
    """One event or a whole series (``rrule`` set)."""

    class Kind(models.TextChoices):
        SALON = "salon", _("读者沙龙")
        SEMINAR = "seminar", _("法学研讨会")
        TEA_TALK = "tea_talk", _("法官茶座")
        READING = "reading", _("读书活动")
        LECTURE = "lecture", _("讲座")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("公开")
        INTERNAL = "internal", _("院内")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("已安排")
        CANCELLED = "cancelled", _("已取消")

    uid = models.UUIDField(_("日历 UID"), default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("标题"), max_length=200, validators=[validate_single_line])
    description = models.TextField(_("简介"), blank=True)
    start = models.DateTimeField(_("开始"))
    end = models.DateTimeField(_("结束"))
    all_day = models.BooleanField(_("全天"), default=False)
    venue = models.ForeignKey(
        Venue, on_delete=models.PROTECT, null=True, blank=True, related_name="events", verbose_name=_("场地")
    )
    online_url = models.URLField(_("线上会议链接"), max_length=500, blank=True)
    capacity = models.PositiveIntegerField(_("名额"), null=True, blank=True, help_text=_("留空则取场地容纳人数"))
    registration_required = models.BooleanField(_("需要报名"), default=True)
    registration_opens = models.DateTimeField(_("报名开始"), null=True, blank=True)
    registration_closes = models.DateTimeField(_("报名截止"), null=True, blank=True)
    visibility = models.CharField(_("可见范围"), max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True, validators=[validate_single_line])
    rrule = models.CharField(_("重复规则"), max_length=500, blank=True, help_text=_("RFC 5545 RRULE，例如 FREQ=MONTHLY;BYDAY=1FR"))
    exdates = models.JSONField(_("排除日期"), default=list, blank=True, help_text=_("被排除的各次原定开始时间（ISO 8601）"))
    organizers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="organized_events", blank=True, verbose_name=_("组织者")
    )
    books = models.ManyToManyField(Book, related_name="events", blank=True, verbose_name=_("书目"))
    papers = models.ManyToManyField(Paper, related_name="events", blank=True, verbose_name=_("调研成果"))
    sequence = models.PositiveIntegerField(_("版本号"), default=0, help_text=_("时间、地点或状态每变更一次加一"))
    #: Every change of anything a feed shows of this event (its fields, speakers, reading list,
    #: exceptions) adds one; cached feed entries key on it.
    revision = models.PositiveIntegerField(default=0, editable=False)
    created_by = person_link()
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    #: The span whose occurrences ``ListedOccurrence`` holds complete for this event (events.listing); an
    #: empty span (both at ``listing.EMPTY``) after any change until the rows are written again.
    listed_from = models.DateTimeField(default=NOT_LISTED, editable=False)
    listed_until = models.DateTimeField(default=NOT_LISTED, editable=False)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["start", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="event_end_after_start"),
            models.CheckConstraint(condition=Q(capacity__isnull=True) | Q(capacity__gte=1), name="event_capacity_positive"),
            models.CheckConstraint(
                condition=Q(kind__in=["salon", "seminar", "tea_talk", "reading", "lecture"]), name="event_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["venue", "start"], name="event_venue_start")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.revision = (self.revision or 0) + 1
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "revision", "updated_at"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """The admin's check of the series: start and end in the API's years, the RRULE and EXDATEs pass
        the API's rules and are stored in its canonical form (``normalize_rrule``, ``normalize_exdates``),
        so no page reads a rule that does not parse or costs more than its budget.  Skipped while
        ``start`` itself is invalid (its own field error is shown)."""
        if self.start is None:
            return
        try:
            check_window(self.start, "start")
            if self.end is not None:
                check_window(self.end, "end")
            self.rrule = normalize_rrule(self.rrule, start=self.start)
            if self.end is not None:
                check_length(self.start, self.end, recurring=bool(self.rrule))
            self.exdates = normalize_exdates(self.exdates, self)
        except InvalidInput as exc:
            raise ValidationError({exc.field: exc.detail}) from None

    @property
    def is_recurring(self) -> bool:
        return bool(self.rrule)

    @property
    def seats(self) -> int | None:
        """The capacity in force: the event's own, else its venue's, else unlimited (None)."""
        if self.capacity is not None:
            return self.capacity
        return self.venue.capacity if self.venue_id else None


class Speaker(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="speakers")
    name = models.CharField(_("姓名"), max_length=100, validators=[validate_single_line])
    role = models.CharField(_("身份"), max_length=50, blank=True, validators=[validate_single_line],
                            help_text=_("例如 主讲人、主持人"))
    user = person_link()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("主讲/主持")
        verbose_name_plural = _("主讲/主持")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


def attachment_upload_to(instance: "Attachment", filename: str) -> str:
    return f"events/{uuid.uuid4().hex}"


class Attachment(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(_("文件名"), max_length=200)
    file = models.FileField(_("文件"), upload_to=attachment_upload_to)
    size = models.PositiveIntegerField(_("大小"), default=0)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("活动材料")
        verbose_name_plural = _("活动材料")
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class OverrideQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """As ``QuerySet.update``, marking the events' stored occurrences as not current (see EventQuerySet)."""
        Event.objects.filter(pk__in=self.values("event_id")).update(listed_from=NOT_LISTED, listed_until=NOT_LISTED)
        return super().update(**kwargs)


class Override(models.Model):
    """One occurrence of a series changed (moved, retitled, another venue) or cancelled."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="overrides")
    recurrence_id = models.DateTimeField(_("原定开始"))
    start = models.DateTimeField(_("开始"))
    end = models.DateTimeField(_("结束"))
    title = models.CharField(_("标题"), max_length=200, blank=True, validators=[validate_single_line],
                             help_text=_("留空沿用系列标题"))
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    venue_changed = models.BooleanField(default=False, help_text=_("为真时以 venue 为准（可为空：改为线上）"))
    status = models.CharField(_("状态"), max_length=16, choices=Event.Status.choices, default=Event.Status.SCHEDULED)
    reason = models.CharField(_("原因"), max_length=200, blank=True, validators=[validate_single_line])
    sequence = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OverrideQuerySet.as_manager()

    class Meta:
        verbose_name = _("单次变更")
        verbose_name_plural = _("单次变更")
        ordering = ["recurrence_id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "recurrence_id"], name="override_one_per_occurrence"),
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="override_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}@{self.recurrence_id:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        """The admin's check of an exception: its times in the API's years (the API's ``parse_instant``),
        and no longer than an occurrence of a series may last (``check_length``)."""
        errors = {}
        for name in ("recurrence_id", "start", "end"):
            value = getattr(self, name)
            if value is not None:
                try:
                    check_window(value, name)
                except InvalidInput as exc:
                    errors[name] = exc.detail
        if self.start is not None and self.end is not None and "end" not in errors:
            try:
                check_length(self.start, self.end, recurring=True)
            except InvalidInput as exc:
                errors["end"] = exc.detail
        # As the API: an exception belongs to an occurrence the series has (the admin accepted any time, and
        # it was listed as an occurrence that could not be registered for).
        try:
            event = self.event
        except Event.DoesNotExist:
            event = None
        if self.recurrence_id is not None and "recurrence_id" not in errors and event is not None:
            if not event.rrule:
                errors["recurrence_id"] = _("单次活动没有场次，请直接修改活动")
            elif not is_original_occurrence(event, self.recurrence_id):
                errors["recurrence_id"] = _("不是该系列的一次活动")
        if errors:
            raise ValidationError(errors)


class SeatCounter(models.Model):
    """Confirmed seats of one occurrence (or of a single event).  The CHECK constraint makes
    overbooking impossible in the database: a registration takes a seat with
    ``UPDATE … SET taken = taken + 1 WHERE taken < capacity``, and no update can push ``taken`` past
    ``capacity`` even if two requests raced past every check in Python."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="seat_counters")
    occurrence = models.DateTimeField(_("场次（原定开始）"))
    capacity = models.PositiveIntegerField()
    taken = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("名额")
        verbose_name_plural = _("名额")
        constraints = [
            models.UniqueConstraint(fields=["event", "occurrence"], name="seatcounter_one_per_occurrence"),
            models.CheckConstraint(condition=Q(taken__lte=F("capacity")), name="seatcounter_never_overbooked"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}@{self.occurrence}: {self.taken}/{self.capacity}"


class Registration(models.Model):
    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("已确认")
        WAITLISTED = "waitlisted", _("候补")
        CANCELLED = "cancelled", _("已取消")

    ACTIVE = (Status.CONFIRMED, Status.WAITLISTED)

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    occurrence = models.DateTimeField(_("场次（原定开始）"), null=True, blank=True, help_text=_("留空为整个系列"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="registrations")
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices)
    created_at = models.DateTimeField(_("报名时间"))
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("签到时间"), null=True, blank=True)
    #: Made while the occurrence was full (the waitlist), whatever its status now; with ``promoted_at``, what
    #: the waitlist conversion report counts (reports.event_reports).  Rows made before the field existed
    #: carry it only if they were still waitlisted then (migration 0012).
    was_waitlisted = models.BooleanField(_("曾候补"), default=False)
    promoted_at = models.DateTimeField(_("候补转正时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("报名")
        verbose_name_plural = _("报名")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "occurrence", "user"],
                condition=Q(status__in=["confirmed", "waitlisted"], occurrence__isnull=False),
                name="registration_once_per_occurrence",
            ),
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(status__in=["confirmed", "waitlisted"], occurrence__isnull=True),
                name="registration_once_per_series",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "occurrence", "status", "created_at"], name="registration_queue"),
            # The waitlist conversion report reads the waitlisted registrations made in a date range.
            models.Index(fields=["created_at"], name="registration_waitlisted", condition=Q(was_waitlisted=True)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.event_id} ({self.status})"


class ListedOccurrence(models.Model):
    """One occurrence of an event as listings show it (overrides applied), written by ``events.listing``
    for the span ``Event.listed_from``–``listed_until``: listings read these rows with one indexed query,
    so what a listing costs and shows does not depend on how many series there are."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="listed_occurrences")
    #: The occurrence's original start (a single event's start).
    recurrence_id = models.DateTimeField()
    start = models.DateTimeField()
    end = models.DateTimeField()
    title = models.CharField(max_length=200)
    venue = models.ForeignKey(Venue, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=16, choices=Event.Status.choices)
    #: The event's kind and visibility, copied so that a listing's filters are read from the row and its
    #: indexes (a selective ``kind=`` then reads only that kind's rows, not every row of the range).
    kind = models.CharField(max_length=16, choices=Event.Kind.choices)
    visibility = models.CharField(max_length=16, choices=Event.Visibility.choices)

    class Meta:
        verbose_name = _("场次索引")
        verbose_name_plural = _("场次索引")
        constraints = [
            models.UniqueConstraint(fields=["event", "recurrence_id"], name="listed_occurrence_once"),
        ]
        indexes = [
            models.Index(fields=["start", "event"], name="listed_occurrence_start"),
            models.Index(fields=["event", "start"], name="listed_occurrence_event"),
            models.Index(fields=["kind", "start"], name="listed_occurrence_kind"),
            models.Index(fields=["visibility", "start"], name="listed_occurrence_visibility"),
            # The venue conflict check reads one venue's bookings in order of start (events.services).
            models.Index(fields=["venue", "start"], name="listed_occurrence_venue"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}@{self.start:%Y-%m-%d %H:%M}"


class _Versioned(models.Model):
    """A version counter and when it last moved: what a feed's cache key and Last-Modified are made of."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField()

    class Meta:
        abstract = True


class FeedState(_Versioned):
    """One row: a version bumped after every change that any calendar feed shows (events, their
    exceptions and speakers, registrations, loans, holds, venues).  Feed caches are keyed by
    (``token``, ``version``), so every worker process sees a change at once, and ``changed_at`` gives a
    Last-Modified that never moves backwards."""

    token = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        verbose_name = _("日历订阅状态")
        verbose_name_plural = _("日历订阅状态")

    def __str__(self) -> str:
        return f"feeds v{self.version}"


class PersonalFeedState(_Versioned):
    """A person's own feed version: bumped after a change that only that person's feed shows (their
    registrations), instead of ``FeedState``'s, so one reader registering rebuilds one feed, not every feed.
    A personal feed's cache key holds both versions and its Last-Modified is the later ``changed_at``."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")

    class Meta:
        verbose_name = _("个人日历订阅状态")
        verbose_name_plural = _("个人日历订阅状态")

    def __str__(self) -> str:
        return f"feed of {self.user_id} v{self.version}"


class FeedFragment(models.Model):
    """An event's VEVENTs as they appear in public feeds, kept until the event changes.

    Serialising iCalendar is the expensive part of a feed (about 0.6 ms an event with icalendar);
    a feed rebuilt after one change re-serialises only the events whose ``stamp`` moved.  The
    stamp covers everything a public VEVENT shows (the event's last change, its venue, and whether
    its cancellations have passed the 30 days they stay visible)."""

    event = models.OneToOneField(Event, on_delete=models.CASCADE, primary_key=True, related_name="feed_fragment")
    stamp = models.CharField(max_length=255)
    body = models.TextField()

    class Meta:
        verbose_name = _("日历片段缓存")
        verbose_name_plural = _("日历片段缓存")

    def __str__(self) -> str:
        return f"fragment {self.event_id}"


class Attendance(models.Model):
    """One person present at one occurrence (a single event's: ``occurrence`` is its start).

    A registration for a whole series is one row of ``Registration`` and many sessions: attendance is
    recorded per occurrence here, so a court's study programme can count who came to which session.
    A walk-in (``walk_in``) got a confirmed registration for that occurrence when checked in."""

    class Method(models.TextChoices):
        DESK = "desk", _("组织者签到")
        SCAN = "scan", _("扫读者签到码")
        SELF = "self", _("读者扫活动码")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attendances")
    occurrence = models.DateTimeField(_("场次（原定开始）"))
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendances")
    registration = models.ForeignKey(Registration, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="attendances")
    checked_in_at = models.DateTimeField(_("签到时间"))
    checked_in_by = person_link(_("签到经办"))
    method = models.CharField(_("方式"), max_length=8, choices=Method.choices, default=Method.DESK)
    walk_in = models.BooleanField(_("现场加入"), default=False)

    class Meta:
        verbose_name = _("签到")
        verbose_name_plural = _("签到")
        ordering = ["occurrence", "checked_in_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "occurrence", "user"], name="attendance_once_per_occurrence"),
        ]
        # A person's attendance history (/me, /api/v1/me/attendance), newest first.
        indexes = [
            models.Index(fields=["user", "occurrence"], name="attendance_user"),
            # Reports (reports.event_reports, reader_reports): check-ins of the occurrences in a date range.
            models.Index(fields=["occurrence"], name="attendance_occurrence"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} @ {self.event_id}/{self.occurrence:%Y-%m-%d %H:%M}"


class CheckInCode(models.Model):
    """The generation of a person's personal check-in code (``events.attendance.personal_code``): the code is
    signed with the site's key and names this generation, so a new generation (a lost phone, a shared
    screenshot) makes every older code invalid.  No row: generation 0."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="+")
    generation = models.PositiveIntegerField(default=0)
    rotated_at = models.DateTimeField(_("更换时间"), auto_now=True)

    class Meta:
        verbose_name = _("签到码")
        verbose_name_plural = _("签到码")

    def __str__(self) -> str:
        return f"check-in code of {self.user_id} g{self.generation}"
