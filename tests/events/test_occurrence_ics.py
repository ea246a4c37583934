"""One occurrence on its own: ``/calendar/events/<id>/<original start in UTC>.ics`` (issue 17) — one VEVENT with
the UID a personal feed gives it, public events only, 404 for anything that is not an occurrence; and the
"加入日历" link of each occurrence row on the event page."""

import re
from datetime import datetime, timedelta

import icalendar
import pytest
from django.test import Client

from accounts.services import calendar_token_rotate
from events import services
from events.models import Venue
from tests.events import common
from tests.events.common import SH, make_event

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: 2026-11-25 09:00
committed = common.committed

FIRST = datetime(2026, 12, 2, 19, 0, tzinfo=SH)


@pytest.fixture
def series(organizer):
    room = Venue.objects.create(name="法官书苑阅览室", capacity=30)
    return make_event(organizer, room, title="读者沙龙", kind="salon", start=FIRST, end=FIRST + timedelta(hours=2),
                      rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=13")


def get(path: str, **headers):
    return Client().get(path, headers=headers)


def only_vevent(response) -> icalendar.Event:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    (vevent,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    return vevent


def test_an_occurrence_is_one_vevent_with_the_uid_of_personal_feeds(series, judge):
    response = get(f"/calendar/events/{series.pk}/20261209T110000Z.ics")

    vevent = only_vevent(response)
    assert str(vevent["UID"]) == f"{series.uid}-20261209T110000Z@shuyuan"
    assert vevent["DTSTART"].dt == datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    assert vevent["DTEND"].dt == datetime(2026, 12, 9, 21, 0, tzinfo=SH)
    assert str(vevent["SUMMARY"]) == "读者沙龙" and "RRULE" not in vevent and not vevent.walk("VALARM")
    assert "TZID:Asia/Shanghai" in response.content.decode()  # with its VTIMEZONE
    assert f'filename="event-{series.pk}-20261209T110000Z.ics"' in response["Content-Disposition"]
    # The same item as in the feed of a judge registered for that occurrence.
    services.registration_create(event=series, user=judge, occurrence=datetime(2026, 12, 9, 19, 0, tzinfo=SH))
    personal = get(f"/calendar/u/{calendar_token_rotate(user=judge)}.ics")
    (mine,) = icalendar.Calendar.from_ical(personal.content).walk("VEVENT")
    assert str(mine["UID"]) == str(vevent["UID"]) and mine["DTSTART"].dt == vevent["DTSTART"].dt
    # Conditional GET as for the other feeds.
    assert get(f"/calendar/events/{series.pk}/20261209T110000Z.ics", **{"If-None-Match": response["ETag"]}
               ).status_code == 304


def test_a_moved_or_cancelled_occurrence_shows_its_exception(series, organizer):
    services.override_set(event=series, actor=organizer, recurrence_id=datetime(2026, 12, 16, 19, 0, tzinfo=SH),
                          force=True, changes={"start": datetime(2026, 12, 17, 15, 0, tzinfo=SH), "title": "读者沙龙（改期）"})
    services.event_cancel(event=series, actor=organizer, occurrence=datetime(2026, 12, 23, 19, 0, tzinfo=SH),
                          reason="场地检修")

    moved = only_vevent(get(f"/calendar/events/{series.pk}/20261216T110000Z.ics"))
    cancelled = only_vevent(get(f"/calendar/events/{series.pk}/20261223T110000Z.ics"))

    assert moved["DTSTART"].dt == datetime(2026, 12, 17, 15, 0, tzinfo=SH)
    assert str(moved["SUMMARY"]) == "读者沙龙（改期）" and int(moved["SEQUENCE"]) >= 1
    assert str(moved["UID"]) == f"{series.uid}-20261216T110000Z@shuyuan"
    assert str(cancelled["STATUS"]) == "CANCELLED" and "变更原因：场地检修" in str(cancelled["DESCRIPTION"])


def test_a_single_event_by_its_start(organizer):
    talk = make_event(organizer)  # 2026-12-04 15:00
    vevent = only_vevent(get(f"/calendar/events/{talk.pk}/20261204T070000Z.ics"))
    assert str(vevent["UID"]) == f"{talk.uid}@shuyuan"
    assert get(f"/calendar/events/{talk.pk}/20261204T080000Z.ics").status_code == 404


@pytest.mark.parametrize("occurrence", [
    "20261209T120000Z",  # an hour off
    "20261208T110000Z",  # a Tuesday
    "20270303T110000Z",  # after COUNT=13
    "20261209T110000",  # not UTC
    "2026-12-09T11:00:00Z",
    "notadate",
    "99991231T235959Z",
    "00010101T000000Z",
])
def test_anything_but_an_occurrence_is_a_404(series, occurrence):
    assert get(f"/calendar/events/{series.pk}/{occurrence}.ics").status_code == 404


def test_internal_and_unknown_events_are_404(organizer):
    internal = make_event(organizer, visibility="internal")
    assert get(f"/calendar/events/{internal.pk}/20261204T070000Z.ics").status_code == 404
    assert get(f"/calendar/events/{internal.pk + 100}/20261204T070000Z.ics").status_code == 404


def test_an_exdate_or_an_old_cancellation_is_gone(series, organizer, clock):
    series.exdates = [datetime(2026, 12, 9, 19, 0, tzinfo=SH).isoformat()]
    series.save()
    assert get(f"/calendar/events/{series.pk}/20261209T110000Z.ics").status_code == 404
    services.event_cancel(event=series, actor=organizer, occurrence=datetime(2026, 12, 16, 19, 0, tzinfo=SH))
    clock.shift(timedelta(days=31))
    assert get(f"/calendar/events/{series.pk}/20261216T110000Z.ics").status_code == 404


def test_only_get_and_head(series):
    assert Client().post(f"/calendar/events/{series.pk}/20261209T110000Z.ics").status_code == 405
    head = Client().head(f"/calendar/events/{series.pk}/20261209T110000Z.ics")
    assert head.status_code == 200 and head.content == b""


def test_each_coming_occurrence_row_links_to_its_own_ics(series, organizer, judge, client):
    services.event_cancel(event=series, actor=organizer, occurrence=datetime(2026, 12, 9, 19, 0, tzinfo=SH))
    services.registration_create(event=series, user=judge, occurrence=datetime(2026, 12, 16, 19, 0, tzinfo=SH))
    client.force_login(judge)

    page = client.get(f"/events/{series.pk}").content.decode()

    links = re.findall(r'<a class="meta add-occurrence" href="([^"]+)" download>加入日历</a>', page)
    # Times in library time (the rows showed UTC: 11:00 for 19:00).
    assert "2026-12-02（星期三）19:00" in page
    # 13 rows, the cancelled one without a link; the registered one has it too.
    assert len(links) == 12
    assert f"/calendar/events/{series.pk}/20261202T110000Z.ics" == links[0]
    assert f"/calendar/events/{series.pk}/20261209T110000Z.ics" not in links
    assert f"/calendar/events/{series.pk}/20261216T110000Z.ics" in links
    for link in links[:3]:
        assert get(link).status_code == 200


def test_an_internal_event_page_offers_no_occurrence_ics(organizer, judge, client):
    internal = make_event(organizer, visibility="internal", rrule="FREQ=WEEKLY;COUNT=3")
    client.force_login(judge)
    assert "add-occurrence" not in client.get(f"/events/{internal.pk}").content.decode()
