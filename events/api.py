"""Events API: venues, events and their occurrences, exceptions, registrations and check-in."""

import csv
import io
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Status, UploadedFile
from ninja.decorators import decorate_view
from ninja.errors import HttpError
from ninja.pagination import paginate

from accounts.auth import CATALOG_READ, LOGGED_IN, idempotent, require_role
from accounts.models import PATRON_ROLES, Role
from core import idempotency
from core.errors import ERRORS, THROTTLED, InvalidInput
from core.media import OutsideMediaRoot, open_media
from core.pagination import Pagination
from core.text import neutralize_cell
from core.throttles import hourly_allowance
from events import selectors, services
from events.models import Attachment, Event, Registration, Venue
from events.recurrence import check_window, parse_instant, range_bound
from events.schemas import (
    AttachmentOut,
    AttendanceOut,
    BulkOccurrencesIn,
    BulkOccurrencesOut,
    CancelIn,
    EventFilters,
    EventIn,
    EventOut,
    EventPatch,
    OccurrenceFilters,
    OccurrenceList,
    OverrideIn,
    RegistrationIn,
    RegistrationOut,
    SpeakerIn,
    VenueIn,
    VenueOut,
    VenuePatch,
)

router = Router(tags=["events"])

#: The longest range one occurrences request may ask for.
MAX_RANGE = timedelta(days=400)


def _venue(venue_id: int) -> Venue:
    venue = Venue.objects.filter(pk=venue_id).first()
    if venue is None:
        raise HttpError(404, _("场地 %(id)s 不存在") % {"id": venue_id})
    return venue


def _event(request: HttpRequest, event_id: int) -> Event:
    event = selectors.event_get(viewer=request.auth, event_id=event_id)
    if event is None:
        raise HttpError(404, _("活动 %(id)s 不存在") % {"id": event_id})
    return event


def _managed_event(request: HttpRequest, event_id: int) -> Event:
    require_role(request, Role.ORGANIZER)
    event = _event(request, event_id)
    if not selectors.can_manage(request.auth, event):
        raise HttpError(403, _("只有该活动的组织者可以修改"))
    return event


def _speakers(items):
    if items is None:
        return None
    out = []
    for item in items:
        if isinstance(item, SpeakerIn):
            out.append(services.SpeakerData(name=item.name, role=item.role, user=item.user))
        else:
            out.append(services.SpeakerData(name=item))
    return out


def _fresh(request: HttpRequest, event_id: int) -> Event:
    return selectors.event_get(viewer=request.auth, event_id=event_id)


# --- venues -------------------------------------------------------------------------------------------


@router.get("/venues", response={200: list[VenueOut], **ERRORS}, auth=CATALOG_READ, summary="场地列表")
@paginate(Pagination)
def list_venues(request: HttpRequest):
    return Venue.objects.order_by("name")


@router.post("/venues", response={201: VenueOut, **ERRORS}, auth=LOGGED_IN, summary="新增场地（组织者）")
def create_venue(request: HttpRequest, payload: VenueIn):
    require_role(request, Role.ORGANIZER)
    return Status(201, services.venue_create(**payload.model_dump()))


@router.patch("/venues/{venue_id}", response={200: VenueOut, **ERRORS}, auth=LOGGED_IN, summary="修改场地（组织者）")
def update_venue(request: HttpRequest, venue_id: int, payload: VenuePatch):
    require_role(request, Role.ORGANIZER)
    return services.venue_update(venue=_venue(venue_id), changes=payload.model_dump(exclude_unset=True, exclude_none=True))


@router.delete("/venues/{venue_id}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="删除场地（组织者）")
def delete_venue(request: HttpRequest, venue_id: int):
    require_role(request, Role.ORGANIZER)
    services.venue_delete(venue=_venue(venue_id))
    return Status(204, None)


# --- events -------------------------------------------------------------------------------------------


@router.get("/events", response={200: list[EventOut], **ERRORS}, auth=CATALOG_READ, summary="活动列表（系列）")
@paginate(Pagination)
def list_events(request: HttpRequest, filters: Query[EventFilters]):
    return selectors.event_list(viewer=request.auth, kind=filters.kind, venue=filters.venue)


@router.post("/events", response={201: EventOut, **ERRORS, **THROTTLED}, auth=LOGGED_IN, summary="新建活动（组织者）")
def create_event(request: HttpRequest, payload: EventIn, force: bool = False):
    require_role(request, Role.ORGANIZER)
    data = services.EventData(
        **payload.model_dump(exclude={"speakers", "kind", "visibility"}),
        kind=payload.kind.value,
        visibility=payload.visibility.value,
        speakers=_speakers(payload.speakers),
    )
    event = services.event_create(data=data, actor=request.auth, force=force)
    return Status(201, _fresh(request, event.pk))


@router.get("/events/{event_id}", response={200: EventOut, **ERRORS}, auth=CATALOG_READ, summary="活动详情")
def get_event(request: HttpRequest, event_id: int):
    return _event(request, event_id)


@router.patch("/events/{event_id}", response={200: EventOut, **ERRORS}, auth=LOGGED_IN, summary="修改活动（组织者）")
def update_event(request: HttpRequest, event_id: int, payload: EventPatch, force: bool = False):
    event = _managed_event(request, event_id)
    changes = payload.model_dump(exclude_unset=True, exclude={"speakers"})
    for key in ("kind", "visibility"):
        if changes.get(key) is not None:
            changes[key] = getattr(payload, key).value
    nullable = {"venue", "capacity", "registration_opens", "registration_closes"}
    changes = {k: v for k, v in changes.items() if v is not None or k in nullable}
    if "speakers" in payload.model_fields_set:
        changes["speakers"] = _speakers(payload.speakers) or []
    services.event_update(event=event, changes=changes, actor=request.auth, force=force)
    return _fresh(request, event_id)


@router.delete("/events/{event_id}", response={204: None, **ERRORS}, auth=LOGGED_IN, summary="删除活动（组织者）")
def delete_event(request: HttpRequest, event_id: int):
    services.event_delete(event=_managed_event(request, event_id))
    return Status(204, None)


@router.post("/events/{event_id}/cancel", response={200: EventOut, **ERRORS}, auth=LOGGED_IN,
             summary="取消整个活动或其中一场")
def cancel_event(request: HttpRequest, event_id: int, payload: CancelIn):
    event = _managed_event(request, event_id)
    occurrence = parse_instant(payload.occurrence, "occurrence") if payload.occurrence is not None else None
    services.event_cancel(event=event, actor=request.auth, occurrence=occurrence, reason=payload.reason)
    return _fresh(request, event_id)


@router.post("/events/{event_id}/overrides", response={200: EventOut, **ERRORS}, auth=LOGGED_IN,
             summary="变更其中一场（改时间、场地、标题或取消）")
def override_occurrence(request: HttpRequest, event_id: int, payload: OverrideIn, force: bool = False):
    event = _managed_event(request, event_id)
    changes = {}
    fields = payload.model_fields_set
    for key in ("start", "end", "title", "status", "reason"):
        if key in fields and getattr(payload, key) is not None:
            changes[key] = getattr(payload, key)
    if payload.online:
        changes["venue"] = None
    elif "venue" in fields and payload.venue is not None:
        changes["venue"] = payload.venue
    if "start" in changes:
        changes["start"] = parse_instant(changes["start"], "start")
    if "end" in changes:
        changes["end"] = parse_instant(changes["end"], "end")
    services.override_set(event=event, actor=request.auth, recurrence_id=payload.recurrence_id, changes=changes,
                          force=force)
    return _fresh(request, event_id)


@router.post("/events/{event_id}/occurrences/bulk", response={200: BulkOccurrencesOut, **ERRORS}, auth=LOGGED_IN,
             summary="一次取消或改期多场（全部成功或全部不变；每位报名读者一条汇总通知）")
def bulk_occurrences(request: HttpRequest, event_id: int, payload: BulkOccurrencesIn, force: bool = False):
    from datetime import time as clock

    event = _managed_event(request, event_id)
    shift = timedelta(days=payload.shift_days, minutes=payload.shift_minutes)
    at_time = None
    if payload.time is not None:
        try:
            at_time = clock.fromisoformat(payload.time)
        except ValueError:
            raise InvalidInput("time", _("时间须为 HH:MM")) from None
    if payload.date is not None:
        check_window(payload.date, "date")
    done = services.occurrences_change(
        event=event, actor=request.auth, recurrence_ids=[parse_instant(o, "occurrences") for o in payload.occurrences],
        action=payload.action, reason=payload.reason, shift=shift or None, at_time=at_time, on_date=payload.date,
        force=force)
    base = Event.objects.values_list("sequence", flat=True).get(pk=event.pk)
    return {"changed": [{"recurrence_id": o.recurrence_id, "start": o.start, "end": o.end, "status": o.status,
                         "sequence": base + o.sequence} for o in done.overrides],
            "notified": done.notified}


@router.get("/occurrences", response={200: OccurrenceList, **ERRORS}, auth=CATALOG_READ,
            summary="某时段内的所有场次（已应用单次变更与取消）")
def list_occurrences(request: HttpRequest, filters: Query[OccurrenceFilters]):
    start = range_bound(filters.from_, "from") if filters.from_ is not None else timezone.now()
    end = range_bound(filters.to, "to", end=True) if filters.to is not None else start + timedelta(days=90)
    if end <= start:
        raise InvalidInput("to", _("to 必须晚于 from"))
    if end - start > MAX_RANGE:
        raise InvalidInput("to", _("一次最多查询 %(days)s 天") % {"days": MAX_RANGE.days})
    kinds = [k.strip() for k in (filters.kind or "").split(",") if k.strip()]
    unknown = set(kinds) - set(Event.Kind.values)
    if unknown:
        raise InvalidInput("kind", _("未知的活动类型：%(kinds)s") % {"kinds": sorted(unknown)})
    limit = selectors.MAX_LISTED if filters.limit is None else filters.limit
    if not 1 <= limit <= selectors.MAX_LISTED:
        raise InvalidInput("limit", _("limit 须在 1–%(most)s 之间") % {"most": selectors.MAX_LISTED})
    after = selectors.parse_cursor(filters.after, "after") if filters.after is not None else None
    page = selectors.occurrence_list(viewer=request.auth, start=start, end=end, kinds=kinds or None,
                                     venue=filters.venue, limit=limit, after=after)
    return {"items": page.items, "count": len(page.items), "truncated": page.truncated, "next": page.next}


# --- materials -----------------------------------------------------------------------------------------------


@router.post("/events/{event_id}/attachments", response={201: AttachmentOut, **ERRORS, **THROTTLED}, auth=LOGGED_IN,
             summary="上传活动材料（组织者）")
def upload_attachment(request: HttpRequest, event_id: int, file: File[UploadedFile]):
    event = _managed_event(request, event_id)
    if file.size is not None and file.size > settings.PAPER_MAX_UPLOAD_BYTES:
        raise InvalidInput("file", _("文件过大"), code="file_too_large")
    with hourly_allowance(request.auth, "event-attachment", "EVENTS_ATTACHMENTS_PER_HOUR"):
        attachment = services.attachment_add(event=event, data=file.read(), filename=file.name or "")
    return Status(201, attachment)


def _attachment(event: Event, attachment_id: int) -> Attachment:
    attachment = event.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise HttpError(404, _("材料不存在"))
    return attachment


@router.get("/events/{event_id}/attachments/{attachment_id}", response={200: None, **ERRORS}, auth=CATALOG_READ,
            summary="下载活动材料")
def download_attachment(request: HttpRequest, event_id: int, attachment_id: int):
    attachment = _attachment(_event(request, event_id), attachment_id)
    try:
        handle = open_media(attachment.file)
    except (FileNotFoundError, OutsideMediaRoot):
        raise HttpError(404, _("材料文件缺失")) from None
    extension = attachment.name.rsplit(".", 1)[-1].lower() if "." in attachment.name else ""
    # The admin lets a name be typed freely: a name like evil.html must not reach the reader's disk as such.
    filename = attachment.name if extension in services.ATTACHMENT_TYPES else f"{attachment.name}.bin"
    response = FileResponse(handle, as_attachment=True, filename=filename)
    response["Content-Type"] = services.ATTACHMENT_TYPES.get(extension, "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.delete("/events/{event_id}/attachments/{attachment_id}", response={204: None, **ERRORS}, auth=LOGGED_IN,
               summary="删除活动材料（组织者）")
def delete_attachment(request: HttpRequest, event_id: int, attachment_id: int):
    attachment = _attachment(_managed_event(request, event_id), attachment_id)
    services.attachment_delete(attachment=attachment)
    return Status(204, None)


# --- registrations ------------------------------------------------------------------------------------------


@router.post("/events/{event_id}/registrations", response={201: RegistrationOut, **ERRORS, **THROTTLED}, auth=LOGGED_IN,
             summary="报名（某一场或整个活动）", openapi_extra=idempotency.OPENAPI)
@decorate_view(idempotent)
def register(request: HttpRequest, event_id: int, payload: RegistrationIn):
    require_role(request, *PATRON_ROLES)
    event = _event(request, event_id)
    registration = services.registration_create(event=event, user=request.auth, occurrence=payload.occurrence)
    return Status(201, selectors.registration_rows([selectors.registration_queryset().get(pk=registration.pk)])[0])


@router.get("/events/{event_id}/registrations", response={200: list[RegistrationOut], **ERRORS}, auth=LOGGED_IN,
            summary="报名名单（组织者；?format=csv 导出）")
def list_registrations(request: HttpRequest, event_id: int, format: str = "json", status: str | None = None):
    event = _managed_event(request, event_id)
    registrations = selectors.registration_queryset().filter(event=event).order_by(
        F("occurrence").asc(nulls_first=True), "created_at", "id")  # whole-series rows first, on every database
    if status:
        if status not in Registration.Status.values:
            raise InvalidInput("status", _("状态须为 confirmed、waitlisted 或 cancelled"))
        registrations = registrations.filter(status=status)
    if format == "csv":
        registrations = list(registrations)
        return _csv(event, selectors.registration_rows(registrations), selectors.registered_sessions(registrations))
    rows = selectors.registration_rows(registrations)
    if format != "json":
        raise InvalidInput("format", _("format 须为 json 或 csv"))
    return rows


def _session_words(session: selectors.RegisteredSession) -> tuple[str, str]:
    """A registration's session as the CSV writes it: when (its current time; 全部场次 for a whole series) and its
    state (已安排, 已改期（原定 …）, 已取消)."""
    when = (_("全部场次") if session.whole_series
            else timezone.localtime(session.start).strftime("%Y-%m-%d %H:%M"))
    if session.status == Event.Status.CANCELLED:
        state = _("已取消")
    elif session.original is not None:
        state = _("已改期（原定 %(when)s）") % {"when": timezone.localtime(session.original).strftime("%Y-%m-%d %H:%M")}
    else:
        state = _("已安排")
    return when, state


def _csv(event: Event, rows: list[dict], sessions: dict) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    # 场次状态 comes last: the columns before it keep their places for spreadsheets made from earlier exports.
    writer.writerow([_("报名号"), _("用户名"), _("姓名"), _("场次"), _("状态"), _("候补位次"), _("报名时间"), _("签到时间"),
                     _("场次状态")])
    for row in rows:
        when, state = _session_words(sessions[row["id"]])
        # Usernames may begin with - or @: neutralised so a spreadsheet never runs them as formulas.
        writer.writerow([
            row["id"], neutralize_cell(row["user"]), neutralize_cell(row["name"]), when,
            row["status_label"], row["position"] or "",
            timezone.localtime(row["created_at"]).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(row["checked_in_at"]).strftime("%Y-%m-%d %H:%M") if row["checked_in_at"] else "",
            state,
        ])
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="registrations-{event.pk}.csv"'
    return response


@router.get("/me/registrations", response={200: list[RegistrationOut], **ERRORS}, auth=LOGGED_IN, summary="我的报名")
def my_registrations(request: HttpRequest):
    registrations = selectors.registration_queryset().filter(user=request.auth).order_by("-created_at", "-id")
    return selectors.registration_rows(registrations)


@router.get("/me/attendance", response={200: list[AttendanceOut], **ERRORS}, auth=LOGGED_IN,
            summary="我的签到记录（最近的在前）")
@paginate(Pagination)
def my_attendance(request: HttpRequest):
    return selectors.attendance_history(request.auth)


def _registration(request: HttpRequest, registration_id: int, *, manage: bool) -> Registration:
    registration = selectors.registration_queryset().filter(pk=registration_id).first()
    if registration is None:
        raise HttpError(404, _("报名 %(id)s 不存在") % {"id": registration_id})
    own = registration.user_id == request.auth.pk
    manager = selectors.can_manage(request.auth, registration.event)
    if (manage and not manager) or (not manage and not (own or manager)):
        if not own and not manager:
            raise HttpError(404, _("报名 %(id)s 不存在") % {"id": registration_id})
        raise HttpError(403, _("只有该活动的组织者可以签到"))
    return registration


@router.delete("/registrations/{registration_id}", response={204: None, **ERRORS}, auth=LOGGED_IN,
               summary="取消报名（空出的名额给第一位候补）")
def cancel_registration(request: HttpRequest, registration_id: int):
    services.registration_cancel(registration=_registration(request, registration_id, manage=False))
    return Status(204, None)


@router.post("/registrations/{registration_id}/check-in", response={200: RegistrationOut, **ERRORS}, auth=LOGGED_IN,
             summary="签到（组织者）")
def check_in(request: HttpRequest, registration_id: int):
    registration = services.registration_check_in(registration=_registration(request, registration_id, manage=True),
                                                  actor=request.auth)
    return selectors.registration_rows([registration])[0]
