"""An event's attendance as a spreadsheet: a row per person and session held, as courts keep them for their
study programmes (CSV with a BOM for Excel, or XLSX).  Text typed by people (names, departments) never
becomes a formula: neutralised (``core.text.neutralize_cell``) in CSV through ``core.csvfile`` and in XLSX through
``core.xlsx``."""

from datetime import datetime, timedelta

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import csvfile
from core import xlsx as core_xlsx
from events import selectors, services
from events.models import Event, Registration
from events.recurrence import local_tz, occurrences

#: How far back an export reaches (the stored listings' window).
EXPORT_BACK = timedelta(days=400)


def held_sessions(event: Event, *, now: datetime | None = None) -> list[services.Session]:
    """The event's scheduled sessions that began by the end of today (library time), oldest first; at most
    ``selectors.EXPORT_SESSIONS_MAX``, the latest."""
    now = now or timezone.now()
    today = timezone.localdate(now) + timedelta(days=1)
    until = datetime(today.year, today.month, today.day, tzinfo=local_tz())
    if not event.rrule:
        sessions = [services.session_of(event, None)]
    else:
        sessions = [services.Session(event=event, key=o.recurrence_id, recurrence_id=o.recurrence_id, start=o.start,
                                     end=o.end, status=o.status)
                    for o in occurrences(event, max(event.start, now - EXPORT_BACK), until)]
    held = [s for s in sessions if s.status == Event.Status.SCHEDULED and s.start < until]
    return held[-selectors.EXPORT_SESSIONS_MAX:]


def attendance_table(event: Event, *, now: datetime | None = None) -> list[list]:
    """The header and a row per person of each session held: 场次, 姓名, 部门/庭室, 报名状态, 签到时间."""
    rows: list[list] = [[_("场次"), _("姓名"), _("部门/庭室"), _("报名状态"), _("签到时间")]]
    for session, roster in selectors.session_rosters(event, held_sessions(event, now=now)):
        when = timezone.localtime(session.start).replace(tzinfo=None)
        for person in roster:
            status = person["status_label"]
            if person["walk_in"]:
                status = _("%(status)s（现场加入）") % {"status": status}
            elif person["status"] == Registration.Status.WAITLISTED and person["position"]:
                status = _("%(status)s（第 %(n)s 位）") % {"status": status, "n": person["position"]}
            checked = timezone.localtime(person["checked_in_at"]).replace(tzinfo=None) if person["checked_in_at"] else None
            rows.append([when, person["name"], person["division"], status, checked])
    return rows


def csv_response(rows: list[list], *, filename: str) -> HttpResponse:
    """``rows`` (the header first) as CSV for Excel through ``core.csvfile``: BOM, text never a formula."""
    return csvfile.csv_response(None, rows, filename=filename)


#: Column widths of the XLSX export (characters), in ``attendance_table``'s order.
XLSX_WIDTHS = (18, 14, 18, 16, 18)


def xlsx_response(rows: list[list], *, filename: str, title: str) -> HttpResponse:
    """``rows`` (the header first) as a workbook through ``core.xlsx``: dates as dates, text never a formula."""
    return core_xlsx.xlsx_response(rows[0], rows[1:], filename=filename, widths=XLSX_WIDTHS,
                                   title=core_xlsx.sheet_title(title, default=_("签到")))
