"""Request and response schemas of the events API.  Input schemas reject unknown keys."""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from django.conf import settings
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import BeforeValidator

from core.links import subscription_links
from core.schema_types import Id, SingleLine, StrictSchema, Text
from events.models import Event


def _not_a_number(value):
    """Pydantic reads a number (or a string of digits, for a datetime) as a Unix time: a client's
    ``{"occurrence": 12345}`` would become 1970-01-01.  Date-times are ISO 8601 strings only."""
    if isinstance(value, bool | int | float) or (
            isinstance(value, str) and re.fullmatch(r"\s*[+-]?[\d.]+(e[+-]?\d+)?\s*", value, re.IGNORECASE)):
        raise ValueError(_("须为 ISO 8601 日期时间字符串，不能是数字"))
    return value


#: A point in time as ISO 8601 (any offset; without one it is library time) or, for all-day events, a date.
When = Annotated[datetime | date | str, BeforeValidator(_not_a_number)]
#: A date-time as ISO 8601 (never a number).
Instant = Annotated[datetime, BeforeValidator(_not_a_number)]


def feed_links(event_id: int) -> dict[str, str]:
    ics = f"{settings.SITE_URL}/calendar/events/{event_id}.ics"
    return {"ics_url": ics, **subscription_links(ics)}


class VenueIn(StrictSchema):
    name: SingleLine(100, 1)
    location: SingleLine(200) = ""
    capacity: int = Field(30, ge=1, le=100000)


class VenuePatch(StrictSchema):
    name: SingleLine(100, 1) | None = None
    location: SingleLine(200) | None = None
    capacity: int | None = Field(None, ge=1, le=100000)


class VenueOut(Schema):
    id: int
    name: str
    location: str
    capacity: int


class SpeakerIn(StrictSchema):
    name: SingleLine(100, 1)
    role: SingleLine(50) = ""
    user: SingleLine(150, 1) | None = Field(None, description="关联的用户名（可选）")


class EventIn(StrictSchema):
    title: SingleLine(200, 1)
    kind: Event.Kind
    description: Text(20000) = ""
    start: When = Field(description="开始：ISO 8601，带或不带时区（不带即北京时间）；全天活动可只写日期")
    end: When = Field(description="结束；全天活动写最后一天的日期")
    all_day: bool = False
    venue: Id | None = None
    online_url: SingleLine(500) = ""
    capacity: int | None = Field(None, ge=1, le=100000, description="名额；留空取场地容纳人数")
    rrule: SingleLine(500) = Field("", description="RFC 5545 RRULE，例如 FREQ=MONTHLY;BYDAY=1FR;COUNT=12")
    exdates: list[When] = Field(default=[], max_length=500, description="排除的场次（原定开始时间）")
    speakers: list[SpeakerIn | SingleLine(100, 1)] = Field(default=[], max_length=50)
    books: list[Id] = Field(default=[], max_length=100, description="书目：图书 id")
    papers: list[Id] = Field(default=[], max_length=100, description="调研成果 id")
    visibility: Event.Visibility = Event.Visibility.PUBLIC
    registration_required: bool = True
    registration_opens: Instant | None = None
    registration_closes: Instant | None = None
    organizers: list[SingleLine(150, 1)] | None = Field(None, max_length=20, description="其他组织者的用户名")


class EventPatch(StrictSchema):
    title: SingleLine(200, 1) | None = None
    kind: Event.Kind | None = None
    description: Text(20000) | None = None
    start: When | None = None
    end: When | None = None
    all_day: bool | None = None
    venue: Id | None = None
    online_url: SingleLine(500) | None = None
    capacity: int | None = Field(None, ge=1, le=100000)
    rrule: SingleLine(500) | None = None
    exdates: list[When] | None = Field(None, max_length=500)
    speakers: list[SpeakerIn | SingleLine(100, 1)] | None = Field(None, max_length=50)
    books: list[Id] | None = Field(None, max_length=100)
    papers: list[Id] | None = Field(None, max_length=100)
    visibility: Event.Visibility | None = None
    registration_required: bool | None = None
    registration_opens: Instant | None = None
    registration_closes: Instant | None = None
    organizers: list[SingleLine(150, 1)] | None = Field(None, max_length=20)


class CancelIn(StrictSchema):
    occurrence: When | None = Field(None, description="要取消的场次（原定开始时间）；留空取消整个活动")
    reason: SingleLine(200) = ""


class OverrideIn(StrictSchema):
    recurrence_id: When = Field(description="要变更的场次（原定开始时间）")
    start: When | None = None
    end: When | None = None
    venue: Id | None = None
    online: bool = Field(False, description="改为线上（不占场地）")
    title: SingleLine(200) | None = None
    status: Literal["scheduled", "cancelled"] | None = None
    reason: SingleLine(200) = ""


class SpeakerOut(Schema):
    name: str
    role: str
    user: str | None

    @staticmethod
    def resolve_user(obj) -> str | None:
        return obj.user.get_username() if obj.user_id else None


class TitleRef(Schema):
    id: int
    title: str


class OverrideOut(Schema):
    recurrence_id: datetime
    start: datetime
    end: datetime
    title: str
    venue: int | None
    status: str
    reason: str

    @staticmethod
    def resolve_venue(obj) -> int | None:
        return obj.venue_id if obj.venue_changed else obj.event.venue_id


class AttachmentOut(Schema):
    id: int
    name: str
    size: int
    url: str
    uploaded_at: datetime

    @staticmethod
    def resolve_url(obj) -> str:
        return f"/api/v1/events/{obj.event_id}/attachments/{obj.pk}"


class EventOut(Schema):
    id: int
    uid: str
    title: str
    kind: str
    kind_label: str
    description: str
    start: datetime
    end: datetime
    all_day: bool
    venue: int | None
    venue_name: str | None
    online_url: str
    capacity: int | None = Field(description="名额（未单独设置时为场地容纳人数；null 为不限）")
    rrule: str
    exdates: list[str]
    # Related managers (overrides … papers) are read as lists by ninja itself (DjangoGetter).
    overrides: list[OverrideOut]
    speakers: list[SpeakerOut]
    attachments: list[AttachmentOut]
    books: list[TitleRef]
    papers: list[TitleRef]
    visibility: str
    status: str
    cancel_reason: str
    sequence: int
    registration_required: bool
    registration_opens: datetime | None
    registration_closes: datetime | None
    organizers: list[str]
    ics_url: str
    webcal_url: str
    google_url: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_uid(obj) -> str:
        return f"{obj.uid}@shuyuan"

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_venue(obj) -> int | None:
        return obj.venue_id

    @staticmethod
    def resolve_venue_name(obj) -> str | None:
        return obj.venue.name if obj.venue_id else None

    @staticmethod
    def resolve_capacity(obj) -> int | None:
        return obj.seats

    @staticmethod
    def resolve_organizers(obj) -> list[str]:
        return sorted(u.get_username() for u in obj.organizers.all())

    @staticmethod
    def resolve_ics_url(obj) -> str:
        return feed_links(obj.pk)["ics_url"]

    @staticmethod
    def resolve_webcal_url(obj) -> str:
        return feed_links(obj.pk)["webcal_url"]

    @staticmethod
    def resolve_google_url(obj) -> str:
        return feed_links(obj.pk)["google_url"]


class EventFilters(Schema):
    kind: Event.Kind | None = None
    venue: Id | None = None


def _plain_date(value):
    """``2026-12-06`` as a date, not as midnight: as ``to`` it includes that whole day.  A number is
    refused (``_not_a_number``)."""
    value = _not_a_number(value)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return date.fromisoformat(value.strip())
    return value


#: One end of a range: an ISO 8601 datetime (without an offset: library time) or a plain date.
Bound = Annotated[datetime | date, BeforeValidator(_plain_date)]


class OccurrenceFilters(Schema):
    from_: Bound | None = Field(None, alias="from", description="起：日期或日期时间（不带时区即北京时间；默认现在）")
    to: Bound | None = Field(None, description="止：日期（含当天）或日期时间（不含）；默认起后 90 天，最长 400 天")
    kind: str | None = Field(None, description="类型，可用逗号分隔多个")
    venue: Id | None = None
    after: str | None = Field(None, description="翻页游标：上一页返回的 next，从其后继续列出（其余参数须与上一页相同）")
    limit: int | None = Field(None, description="每页最多场次，1–1000，默认 1000")


class OccurrenceOut(Schema):
    event: int
    title: str
    kind: str
    start: datetime
    end: datetime
    all_day: bool
    venue: int | None
    venue_name: str | None
    status: str
    recurrence_id: datetime | None
    seats_left: int | None


class OccurrenceList(Schema):
    items: list[OccurrenceOut]
    count: int
    truncated: bool = Field(description="为真时本页未列出该时段的全部场次：其后还有（见 next），或远期的活动过多、"
                                        "部分活动未展开（此时 next 可能为空，请按类型筛选或缩小时段）")
    next: str | None = Field(None, description="下一页的游标（作为 after 传回）；为空表示已列到末尾")


class RegistrationIn(StrictSchema):
    occurrence: When | None = Field(None, description="场次（原定开始时间）；留空报名整个活动")


class RegistrationOut(Schema):
    id: int
    event: int
    title: str
    occurrence: datetime | None
    user: str
    name: str = Field(description="读者姓名（未填时为用户名）")
    status: str
    status_label: str = Field(description="状态的名称（按 Accept-Language）")
    position: int | None = Field(description="候补位次（1 为下一位）")
    checked_in_at: datetime | None
    created_at: datetime


_Day = date  # the field below is called ``date``


class BulkOccurrencesIn(StrictSchema):
    """Several occurrences of a series cancelled or moved at once (all or nothing)."""

    action: Literal["cancel", "move"]
    occurrences: list[When] = Field(min_length=1, max_length=100, description="所选场次（原定开始时间）")
    reason: SingleLine(200) = ""
    shift_days: int = Field(0, ge=-366, le=366, description="改期：推移的天数（按当地时间，保持钟点）")
    shift_minutes: int = Field(0, ge=-1440, le=1440, description="改期：另推移的分钟数")
    time: str | None = Field(None, pattern=r"^\d{2}:\d{2}$", description="改期：改到当天的这个时间（HH:MM）")
    date: _Day | None = Field(None, description="改期：改到这一天（只可用于一场）")


class ChangedOccurrenceOut(Schema):
    recurrence_id: datetime
    start: datetime
    end: datetime
    status: str
    sequence: int = Field(description="该场的 iCalendar SEQUENCE（系列的版本号加该场的变更次数）")


class BulkOccurrencesOut(Schema):
    changed: list[ChangedOccurrenceOut]
    notified: int = Field(description="收到通知的报名读者人数（每人一条汇总通知）")


class AttendanceOut(Schema):
    event: int
    title: str
    kind: str
    occurrence: datetime = Field(description="场次（原定开始时间；单次活动为其开始时间）")
    start: datetime
    checked_in_at: datetime
    walk_in: bool
