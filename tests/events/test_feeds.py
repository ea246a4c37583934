"""Calendar feeds: RFC 5545/7986 content, bytes, HTTP caching, personal feeds, and agreement with the API."""

import gzip
from datetime import date, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
import vobject
from django.core.management import call_command
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from events import services
from events.models import Event, Override, Venue
from library.circulation import hold_place, loan_checkout, loan_renew, loan_return
from library.services import book_create, copy_create
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.common import NOW, SH, make_event

pytestmark = pytest.mark.django_db

clock = common.clock  # autouse: time stands at NOW in every test of this module
committed = common.committed



@pytest.fixture
def organizer_user(db):
    return make_user("org", Role.ORGANIZER)


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", location="院本部三楼", capacity=3)


@pytest.fixture
def talk(organizer_user, room):
    event = make_event(organizer_user, room, rrule="FREQ=MONTHLY;BYDAY=1FR;COUNT=6",
                       speakers=[services.SpeakerData("张明", "主持人")])
    services.override_set(event=event, actor=organizer_user, recurrence_id=datetime(2027, 1, 1, 15, tzinfo=SH),
                          changes={"start": datetime(2027, 1, 8, 15, tzinfo=SH), "title": "法官茶座（改期）"}, force=True)
    services.event_cancel(event=event, actor=organizer_user, occurrence=datetime(2027, 2, 5, 15, tzinfo=SH),
                          reason="春节")
    return Event.objects.get(pk=event.pk)


def fetch(path: str, client: Client | None = None, **headers):
    return (client or Client()).get(path, headers=headers)


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def check_bytes(body: bytes) -> None:
    """Strict UTF-8, CRLF line ends, ≤ 75 octets per line, no character split by a fold."""
    text = body.decode("utf-8")  # strict
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    assert body.endswith(b"\r\n")
    for line in body.split(b"\r\n"):
        assert len(line) <= 75, line
        line.decode("utf-8")  # a fold inside a multi-byte character would fail here
        assert not any(ord(ch) < 32 and ch != "\t" for ch in line.decode("utf-8")), line


def check_structure(body: bytes) -> None:
    cal = parse(body)
    used = set()
    for component in cal.walk():
        for name in ("DTSTART", "DTEND", "EXDATE", "RECURRENCE-ID"):
            values = component.get(name)
            for value in values if isinstance(values, list) else [values] if values is not None else []:
                tzid = value.params.get("TZID")
                if tzid:
                    used.add(tzid)
    defined = {tz["TZID"] for tz in cal.walk("VTIMEZONE")}
    assert used <= defined, (used, defined)
    seen = set()
    masters = {}
    for event in cal.walk("VEVENT"):
        rid = event.get("RECURRENCE-ID")
        key = (str(event["UID"]), rid.to_ical() if rid is not None else None)
        assert key not in seen
        seen.add(key)
        if rid is None:
            masters[str(event["UID"])] = event
    for event in cal.walk("VEVENT"):
        if event.get("RECURRENCE-ID") is not None and str(event.get("STATUS")) == "CANCELLED":
            master = masters[str(event["UID"])]
            assert int(event["SEQUENCE"]) > int(master["SEQUENCE"])
    # A second, independent parser, with its validation.
    vcal = vobject.readOne(body.decode("utf-8"))
    vcal.validate()


# --- the public feed --------------------------------------------------------------------------------------


def test_public_feed_is_a_correct_calendar(talk):
    response = fetch("/calendar/events.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="shuyuan-events.ics"'
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")
    body = response.content
    check_bytes(body)
    check_structure(body)
    text = body.decode()
    for line in ("VERSION:2.0", "CALSCALE:GREGORIAN", "METHOD:PUBLISH", "NAME:法官书苑活动", "X-WR-CALNAME:法官书苑活动",
                 "X-WR-TIMEZONE:Asia/Shanghai", "REFRESH-INTERVAL;VALUE=DURATION:PT1H", "X-PUBLISHED-TTL:PT1H",
                 "TZID:Asia/Shanghai", "DTSTART;TZID=Asia/Shanghai:20261204T150000",
                 "RRULE:FREQ=MONTHLY;COUNT=6;BYDAY=1FR", "CATEGORIES:法官茶座", "STATUS:CONFIRMED"):
        assert line in text, line
    assert text.count("BEGIN:VEVENT") == 3  # the series, the moved and the cancelled occurrence
    cal = parse(body)
    master, moved, cancelled = sorted(cal.walk("VEVENT"), key=lambda e: (e.get("RECURRENCE-ID") is not None, e["DTSTART"].dt))
    assert master["UID"] == f"{talk.uid}@shuyuan" == moved["UID"] == cancelled["UID"]
    assert moved["RECURRENCE-ID"].dt == datetime(2027, 1, 1, 15, tzinfo=SH)
    assert moved["DTSTART"].dt == datetime(2027, 1, 8, 15, tzinfo=SH) and str(moved["SUMMARY"]) == "法官茶座（改期）"
    assert str(cancelled["STATUS"]) == "CANCELLED" and "春节" in str(cancelled["DESCRIPTION"])
    assert "主讲/主持：张明（主持人）" in str(master["DESCRIPTION"])
    assert f"/events/{talk.pk}" in str(master["URL"]) and str(master["LOCATION"]) == "法官书苑阅览室（院本部三楼）"
    assert master["DTSTAMP"].dt.tzinfo is not None and master["DTSTAMP"].to_ical().endswith(b"Z")
    assert "BEGIN:VALARM" not in text  # alarms only in personal feeds


def test_unchanged_feed_is_byte_identical_and_changes_move_the_etag(talk, organizer_user, clock, committed):
    first = fetch("/calendar/events.ics")
    clock.shift(timedelta(minutes=5))
    second = fetch("/calendar/events.ics")
    assert first.content == second.content and first["ETag"] == second["ETag"]
    with committed():
        services.event_update(event=talk, changes={"title": "法官茶座·新"}, actor=organizer_user)
    third = fetch("/calendar/events.ics")
    assert third["ETag"] != first["ETag"] and "法官茶座·新" in third.content.decode()
    from django.utils.http import parse_http_date

    assert parse_http_date(third["Last-Modified"]) >= parse_http_date(first["Last-Modified"])


def test_conditional_get_head_and_gzip(talk):
    first = fetch("/calendar/events.ics")
    etag, modified = first["ETag"], first["Last-Modified"]
    not_modified = fetch("/calendar/events.ics", **{"If-None-Match": etag})
    assert (not_modified.status_code, not_modified.content, not_modified["ETag"]) == (304, b"", etag)
    assert fetch("/calendar/events.ics", **{"If-None-Match": '"other"'}).status_code == 200
    assert fetch("/calendar/events.ics", **{"If-Modified-Since": modified}).status_code == 304
    head = Client().head("/calendar/events.ics")
    assert head.status_code == 200 and head.content == b"" and head["ETag"] == etag
    assert int(head["Content-Length"]) == len(first.content)
    zipped = fetch("/calendar/events.ics", **{"Accept-Encoding": "gzip, deflate"})
    assert zipped["Content-Encoding"] == "gzip" and gzip.decompress(zipped.content) == first.content
    assert zipped["ETag"] != etag and "Accept-Encoding" in zipped["Vary"]
    assert fetch("/calendar/events.ics", **{"Accept-Encoding": "gzip", "If-None-Match": zipped["ETag"]}).status_code == 304
    assert Client().post("/calendar/events.ics").status_code == 405


def test_filters_single_event_feed_and_internal_events(talk, organizer_user, room):
    other_room = Venue.objects.create(name="第三审判庭", capacity=50)
    seminar = make_event(organizer_user, other_room, title="法学研讨会", kind="seminar",
                         start=datetime(2026, 12, 20, 9, tzinfo=SH))
    internal = make_event(organizer_user, room, title="院内读书会", kind="reading", visibility="internal",
                          start=datetime(2026, 12, 21, 19, tzinfo=SH))
    assert "SUMMARY:法学研讨会" not in fetch("/calendar/events.ics?kind=tea_talk").content.decode()
    assert "SUMMARY:法学研讨会" in fetch("/calendar/events.ics?kind=salon,seminar").content.decode()
    assert "SUMMARY:法官茶座" not in fetch(f"/calendar/events.ics?venue={other_room.pk}").content.decode()
    assert fetch("/calendar/events.ics?kind=party").status_code == 400
    assert fetch("/calendar/events.ics?venue=abc").status_code == 400
    assert "SUMMARY:院内读书会" not in fetch("/calendar/events.ics").content.decode()
    one = fetch(f"/calendar/events/{seminar.pk}.ics")
    assert one.status_code == 200 and one.content.decode().count("BEGIN:VEVENT") == 1
    check_bytes(one.content)
    assert fetch(f"/calendar/events/{internal.pk}.ics").status_code == 404
    assert fetch("/calendar/events/99999.ics").status_code == 404


def test_text_is_escaped_stripped_and_folded_without_splitting_characters(organizer_user, room):
    event = make_event(organizer_user, room, title="沙龙, 第一期; 法律\\与文学", kind="salon",
                       description="长" * 200 + "\x07响铃")
    body = fetch(f"/calendar/events/{event.pk}.ics").content
    check_bytes(body)
    text = body.decode()
    assert "SUMMARY:沙龙\\, 第一期\\; 法律\\\\与文学" in text
    assert "\x07" not in text and "响铃" in text.replace("\r\n ", "")
    check_structure(body)


def test_all_day_events_use_dates_with_an_exclusive_end(organizer_user):
    event = services.event_create(data=services.EventData(title="读书月", kind="reading", start="2026-12-01",
                                                          end="2026-12-03", all_day=True), actor=organizer_user)
    cal = parse(fetch(f"/calendar/events/{event.pk}.ics").content)
    vevent = next(iter(cal.walk("VEVENT")))
    assert (vevent["DTSTART"].dt, vevent["DTEND"].dt) == (date(2026, 12, 1), date(2026, 12, 4))
    assert vevent["DTSTART"].params.get("VALUE") == "DATE"


def test_cancellations_stay_thirty_days_then_become_exdates(talk, clock):
    clock.shift(timedelta(days=31))
    cal = parse(fetch("/calendar/events.ics").content)
    vevents = list(cal.walk("VEVENT"))
    assert len(vevents) == 2  # the series and the moved occurrence
    master = next(v for v in vevents if v.get("RECURRENCE-ID") is None)
    exdates = [d.dt for d in master["EXDATE"].dts] if not isinstance(master["EXDATE"], list) else [
        d.dt for e in master["EXDATE"] for d in e.dts]
    assert datetime(2027, 2, 5, 15, tzinfo=SH) in exdates


def test_a_cancelled_series_leaves_after_thirty_days(talk, organizer_user, clock, committed):
    with committed():
        services.event_cancel(event=talk, actor=organizer_user, occurrence=None, reason="停办")
    text = fetch("/calendar/events.ics").content.decode()
    assert "STATUS:CANCELLED" in text and "SEQUENCE:1" in text
    clock.shift(timedelta(days=31))
    assert "BEGIN:VEVENT" not in fetch("/calendar/events.ics").content.decode()


# --- personal feeds ----------------------------------------------------------------------------------------


def test_personal_feed_token_rotation_and_contents(talk, organizer_user, room, judge, librarian, clock, committed):
    api = api_for(judge)
    links = api.post("/api/v1/me/calendar-token").json()
    assert links["url"].startswith("http://127.0.0.1:8000/calendar/u/fgcal_") and links["url"].endswith(".ics")
    assert links["webcal_url"] == "webcal://" + links["url"].split("://")[1]
    assert links["google_url"] == "https://calendar.google.com/calendar/r?cid=" + links["webcal_url"]
    path = links["url"].split("8000", 1)[1]
    secret = path.removesuffix(".ics").split("_", 2)[2]
    assert len(secret) >= 22  # ≥ 128 bits of randomness in URL-safe base64 (here 256)
    internal = make_event(organizer_user, room, title="院内读书会", kind="reading", visibility="internal",
                          start=datetime(2026, 12, 21, 19, tzinfo=SH))
    services.registration_create(event=talk, user=judge, occurrence=datetime(2026, 12, 4, 15, tzinfo=SH))
    book = book_create(title="民法典评注")
    copy_create(book=book, barcode="C1")
    loan = loan_checkout(patron=judge, actor=judge, book=book)
    body = fetch(path).content
    check_bytes(body)
    check_structure(body)
    text = body.decode().replace("\r\n ", "")
    assert "X-WR-CALNAME:法官书苑 · 张法官" in text
    cal = parse(body)
    # The one occurrence registered for, as a VEVENT of its own; the internal event neither registered for
    # nor organised is not there (issue 17: the feed holds what the reader has).
    (occurrence,) = [v for v in cal.walk("VEVENT") if str(v["UID"]).startswith(str(talk.uid))]
    assert str(occurrence["UID"]) == f"{talk.uid}-20261204T070000Z@shuyuan" and "RRULE" not in occurrence
    assert occurrence["DTSTART"].dt == datetime(2026, 12, 4, 15, tzinfo=SH)
    assert str(occurrence["DESCRIPTION"]).startswith("报名状态：已报名\n")
    assert "院内读书会" not in text
    # The reminder by default: the day before only.
    assert [a["TRIGGER"].dt for a in occurrence.walk("VALARM")] == [-timedelta(days=1)]
    due = next(v for v in cal.walk("VEVENT") if str(v["UID"]) == f"loan-{loan.pk}@shuyuan")
    assert str(due["SUMMARY"]) == "归还《民法典评注》" and due["DTSTART"].dt == date(2026, 12, 25)
    assert due["DTEND"].dt == date(2026, 12, 26)
    # Renewing moves the due date on the next refresh; returning removes it.
    with committed():
        loan_renew(loan=loan, actor=judge)
    cal = parse(fetch(path).content)
    due = next(v for v in cal.walk("VEVENT") if str(v["UID"]) == f"loan-{loan.pk}@shuyuan")
    assert (due["DTSTART"].dt, int(due["SEQUENCE"])) == (date(2027, 1, 24), 1)
    # Someone else waits; the return puts the book on the hold shelf for them with a pickup deadline.
    other = make_user("reader9", Role.JUDGE)
    with committed():
        hold = hold_place(patron=other, book=book, actor=other)
        loan_return(loan=loan, actor=librarian)
    assert f"loan-{loan.pk}@" not in fetch(path).content.decode()
    other_links = api_for(other).post("/api/v1/me/calendar-token").json()
    other_text = fetch(other_links["url"].split("8000", 1)[1]).content.decode().replace("\r\n ", "")
    assert f"UID:hold-{hold.pk}@shuyuan" in other_text and "取书《民法典评注》" in other_text
    assert "法官茶座" not in other_text  # not registered; public events are in the public feed
    # Rotation: the old URL is dead at once; a made-up token is a 404 too.
    new_links = api.post("/api/v1/me/calendar-token").json()
    assert fetch(path).status_code == 404
    assert fetch(new_links["url"].split("8000", 1)[1]).status_code == 200
    assert fetch("/calendar/u/fgcal_000000000000_notreal.ics").status_code == 404
    assert fetch("/calendar/u/garbage.ics").status_code == 404
    assert f"SUMMARY:{internal.title}" not in fetch("/calendar/events.ics").content.decode()  # personal feeds only


def test_anonymous_cannot_create_a_calendar_token(anon_api):
    assert anon_api.post("/api/v1/me/calendar-token").status_code == 401


# --- agreement with the API ----------------------------------------------------------------------------------


def feed_occurrences(body: bytes, start: datetime, end: datetime) -> list[tuple]:
    cal = parse(body)
    out = []
    for component in recurring_ical_events.of(cal).between(start, end):
        begin, finish = component["DTSTART"].dt, component["DTEND"].dt
        if isinstance(begin, datetime):
            begin, finish = begin.astimezone(SH), finish.astimezone(SH)
        status = "cancelled" if str(component.get("STATUS", "CONFIRMED")) == "CANCELLED" else "scheduled"
        out.append((str(component["SUMMARY"]), begin, finish, status))
    return sorted(out, key=lambda o: (str(o[1]), o[0]))


def api_occurrences(start: datetime, end: datetime) -> list[tuple]:
    items = Client().get("/api/v1/occurrences", {"from": start.isoformat(), "to": end.isoformat()}).json()["items"]
    out = []
    for item in items:
        begin = datetime.fromisoformat(item["start"]).astimezone(SH)
        finish = datetime.fromisoformat(item["end"]).astimezone(SH)
        if item["all_day"]:
            begin, finish = begin.date(), finish.date()
        out.append((item["title"], begin, finish, item["status"]))
    return sorted(out, key=lambda o: (str(o[1]), o[0]))


def test_feed_and_api_agree_on_the_demo_data():
    call_command("load_demo", quiet=True)
    body = fetch("/calendar/events.ics").content
    check_bytes(body)
    check_structure(body)
    for months in (1, 3, 12):
        start = NOW
        end = NOW + timedelta(days=30 * months)
        assert feed_occurrences(body, start, end) == api_occurrences(start, end)


RULES = st.sampled_from([
    "FREQ=WEEKLY;BYDAY=WE;COUNT=10", "FREQ=MONTHLY;BYDAY=1FR;COUNT=8", "FREQ=MONTHLY;BYDAY=-1FR;COUNT=6",
    "FREQ=DAILY;INTERVAL=3;COUNT=12", "FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20270301T000000Z", "FREQ=MONTHLY;BYMONTHDAY=15",
    "",
])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    schedules=st.lists(
        st.tuples(RULES, st.integers(0, 60), st.integers(8, 20), st.integers(30, 240), st.booleans(),
                  st.lists(st.tuples(st.integers(0, 5), st.sampled_from(["move", "cancel"]), st.integers(-3, 3)),
                           max_size=3)),
        min_size=1, max_size=4,
    )
)
def test_feed_and_api_agree_on_generated_schedules(organizer_user, committed, schedules):
    with committed():
        make_schedules(organizer_user, schedules)
    body = fetch("/calendar/events.ics").content
    check_bytes(body)
    start, end = datetime(2026, 11, 20, tzinfo=SH), datetime(2027, 6, 1, tzinfo=SH)
    assert feed_occurrences(body, start, end) == api_occurrences(start, end)


def make_schedules(organizer_user, schedules):
    Event.objects.all().delete()
    from dateutil.rrule import rrulestr

    for i, (rule, day, hour, minutes, all_day, changes) in enumerate(schedules):
        start = datetime(2026, 12, 1, hour, 0, tzinfo=SH) + timedelta(days=day)
        if rule:  # start on the rule's first instance, as the API requires
            start = rrulestr(rule, dtstart=start).after(start, inc=True)
        data = services.EventData(title=f"活动{i}", kind="lecture", start=start, end=start + timedelta(minutes=minutes),
                                  rrule=rule)
        if all_day:
            data.start, data.end, data.all_day = start.date(), start.date(), True
        event = services.event_create(data=data, actor=organizer_user, force=True)
        if not rule:
            continue
        from events.recurrence import original_starts

        originals = original_starts(event, event.start, event.start + timedelta(days=400))
        for index, action, shift in changes:
            if index >= len(originals):
                continue
            rid = originals[index]
            if Override.objects.filter(event=event, recurrence_id=rid).exists():
                continue
            if action == "cancel":
                services.event_cancel(event=event, actor=organizer_user, occurrence=rid)
            elif not all_day:
                services.override_set(event=event, actor=organizer_user, recurrence_id=rid, force=True,
                                      changes={"start": rid + timedelta(days=shift, hours=1)})


def test_unchanged_events_reuse_their_serialised_entries(talk, organizer_user, room, committed, monkeypatch):
    from events import feeds
    from events.models import FeedFragment

    book = book_create(title="民法典评注")
    with committed():
        other = make_event(organizer_user, room, title="读者沙龙", kind="salon", books=[book.pk],
                           start=datetime(2026, 12, 12, 14, tzinfo=SH))
    first = fetch("/calendar/events.ics").content
    assert FeedFragment.objects.count() == 2
    serialised = []
    real = feeds.serialize_event
    monkeypatch.setattr(feeds, "serialize_event", lambda event, **kw: serialised.append(event.pk) or real(event, **kw))
    # A change to one event re-serialises that event only.
    with committed():
        services.event_update(event=other, changes={"title": "读者沙龙（新）"}, actor=organizer_user)
    assert serialised == [other.pk]  # by the feed-warming job, before any feed is asked for
    second = fetch("/calendar/events.ics").content
    assert serialised == [other.pk] and "读者沙龙（新）" in second.decode() and first != second
    # A book on the reading list renamed: the event's entry is rebuilt with the new title.
    book.title = "民法典评注（第二版）"
    with committed():
        book.save()
    assert serialised == [other.pk, other.pk]
    third = fetch("/calendar/events.ics").content.decode().replace("\r\n ", "")
    assert serialised == [other.pk, other.pk] and "《民法典评注（第二版）》" in third
    check_bytes(second)
    check_structure(second)


def test_warm_feeds_stores_every_entry_once(talk, organizer_user, room):
    from io import StringIO

    from events.models import FeedFragment

    Event.objects.bulk_create([Event(title=f"导入的活动{i}", kind="lecture", start=datetime(2027, 3, 1 + i, 9, tzinfo=SH),
                                     end=datetime(2027, 3, 1 + i, 10, tzinfo=SH)) for i in range(3)])
    FeedFragment.objects.all().delete()
    out = StringIO()
    call_command("warm_feeds", stdout=out)
    assert out.getvalue().startswith("4 of 4 events serialised")
    assert FeedFragment.objects.count() == 4
    out = StringIO()
    call_command("warm_feeds", stdout=out)
    assert out.getvalue().startswith("0 of 4 events serialised")


def test_rotating_the_calendar_link_is_rate_limited(judge_api):
    for _ in range(20):
        assert judge_api.post("/api/v1/me/calendar-token").status_code == 200
    refused = judge_api.post("/api/v1/me/calendar-token")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["code"] == "throttled"


# --- stored text that breaks lines, UNTIL that strict clients refuse ---------------------------------------


def test_line_breaks_already_stored_never_break_a_feed(talk, organizer_user, room, judge):
    """Feeds stay 200 and parseable, every single-line value on one line, whatever rows hold."""
    services.registration_create(event=talk, user=judge, occurrence=datetime(2026, 12, 4, 15, tzinfo=SH))
    # The moved occurrence too: a personal feed holds only the occurrences registered for.
    services.registration_create(event=talk, user=judge, occurrence=datetime(2027, 1, 1, 15, tzinfo=SH))
    book = book_create(title="民法典评注")
    copy_create(book=book, barcode="C1")
    loan_checkout(patron=judge, actor=judge, book=book)
    # Written past every check, as old rows, the admin or an import might have them.
    Event.objects.filter(pk=talk.pk).update(title="法官茶座\r\n第二行", description="第一段\r\n第二段\x0b\x85")
    Venue.objects.filter(pk=room.pk).update(name="阅览室\n二号", location="三楼\u2028东")
    Override.objects.filter(event=talk, status="scheduled").update(title="改期\r后")
    talk.speakers.update(name="张\n明")
    type(book).objects.filter(pk=book.pk).update(title="民法\r\n典")
    judge.profile.display_name = "张\r\n法官"
    judge.profile.save()
    personal = api_for(judge).post("/api/v1/me/calendar-token").json()["url"].split("8000", 1)[1]
    for path in (f"/calendar/events/{talk.pk}.ics", "/calendar/events.ics", personal):
        response = fetch(path)
        assert response.status_code == 200, path
        check_bytes(response.content)
        check_structure(response.content)  # icalendar and vobject
        cal = parse(response.content)
        summaries = {str(v["SUMMARY"]) for v in cal.walk("VEVENT")}
        assert "法官茶座 第二行" in summaries or "【候补】法官茶座 第二行" in summaries
        assert "改期 后" in summaries
        assert all("\n" not in s and "\r" not in s for s in summaries)
        assert {str(v["LOCATION"]) for v in cal.walk("VEVENT") if "LOCATION" in v} == {"阅览室 二号（三楼 东）"}
        master = next(v for v in cal.walk("VEVENT") if "RECURRENCE-ID" not in v and "UNTIL" not in v)
        description = str(master["DESCRIPTION"])
        assert "第一段\n第二段\n\n主讲/主持：张 明（主持人）\n" in description  # lines kept, controls gone
        assert "\x0b" not in description and "\x85" not in description
    personal_text = fetch(personal).content.decode()
    assert "X-WR-CALNAME:法官书苑 · 张 法官\r\n" in personal_text
    assert "归还《民法 典》" in str(parse(fetch(personal).content).walk("VEVENT")[-1]["SUMMARY"])


def rrule_untils(body: bytes) -> list[str]:
    """Each RRULE's UNTIL as written, of VEVENTs whose DTSTART has a TZID (strict clients need …Z there)."""
    out = []
    for event in parse(body).walk("VEVENT"):
        if "RRULE" in event and event["DTSTART"].params.get("TZID"):
            out += [part.split("=", 1)[1] for part in event["RRULE"].to_ical().decode().split(";")
                    if part.startswith("UNTIL=")]
    return out


@pytest.mark.parametrize("until", ["20270630", "20270630T150000", "20270630T070000Z"])
def test_until_is_utc_in_feeds_and_clients_see_the_occurrences_the_api_lists(organizer_user, until):
    api = api_for(organizer_user)
    response = api.post("/api/v1/events", {
        "title": "读书会", "kind": "reading", "start": "2026-12-02T15:00:00+08:00", "end": "2026-12-02T16:00:00+08:00",
        "rrule": f"FREQ=WEEKLY;BYDAY=WE;UNTIL={until}"})
    assert response.status_code == 201, response.content
    body = fetch(f"/calendar/events/{response.json()['id']}.ics").content
    check_structure(body)
    assert rrule_untils(body) == ["20270630T155959Z" if len(until) == 8 else "20270630T070000Z"]
    start, end = datetime(2026, 11, 25, tzinfo=SH), datetime(2027, 12, 1, tzinfo=SH)
    listed = api_occurrences(start, end)
    assert len(listed) == 31 and listed[-1][1] == datetime(2027, 6, 30, 15, tzinfo=SH)
    assert feed_occurrences(body, start, end) == listed


def test_floating_until_stored_before_the_fix_is_normalised_in_the_feed(organizer_user, room):
    event = make_event(organizer_user, room, start=datetime(2026, 12, 2, 15, tzinfo=SH), rrule="FREQ=WEEKLY;COUNT=2")
    Event.objects.filter(pk=event.pk).update(rrule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20270630")
    all_day = services.event_create(data=services.EventData(
        title="读书月", kind="reading", start="2026-12-01", end="2026-12-01", all_day=True,
        rrule="FREQ=MONTHLY;UNTIL=20270301"), actor=organizer_user)
    body = fetch("/calendar/events.ics").content
    check_bytes(body)
    check_structure(body)
    assert rrule_untils(body) == ["20270630T155959Z"]
    # An all-day series has a DATE DTSTART, so its UNTIL is a DATE (RFC 5545 §3.3.10).
    assert "RRULE:FREQ=MONTHLY;UNTIL=20270301\r\n" in body.decode() and all_day.rrule.endswith("T155959Z")
    start, end = datetime(2026, 11, 25, tzinfo=SH), datetime(2027, 12, 1, tzinfo=SH)
    assert feed_occurrences(body, start, end) == api_occurrences(start, end)
    assert len(api_occurrences(start, end)) == 31 + 4


def test_asking_for_many_feeds_never_empties_the_rate_limits(organizer_user, room, judge, settings):
    """Attack round 10: feeds and rate limits shared one file cache of 2,000 entries; a full file cache deletes
    a third of its entries at random, and ?kind=salon,salon,seminar made a new entry per spelling, so anyone
    could empty the rate limits (80 more uploads in two minutes past a judge's limit).  Feeds have their own
    cache now, and a feed has one entry however its kinds are spelt."""
    import itertools

    from django.core.cache import caches
    from django.core.files.uploadedfile import SimpleUploadedFile

    from library.models import Paper

    # Small caches, so that culling happens within a test: the rate limits' own few entries never fill theirs.
    settings.CACHES = {"default": {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 10}},
                       "feeds": {**settings.CACHES["feeds"], "OPTIONS": {"MAX_ENTRIES": 4}}}
    settings.PAPER_UPLOADS_PER_HOUR = 1
    make_event(organizer_user, room)
    paper = Paper.objects.create(title="课题", created_by=judge)
    api = api_for(judge)
    upload = lambda: api.upload(f"/api/v1/papers/{paper.pk}/file", {"file": SimpleUploadedFile("a.txt", "正文".encode())})  # noqa: E731
    assert [upload().status_code, upload().status_code] == [200, 429]

    client = Client()
    kinds = [k for k, _ in Event.Kind.choices]
    spellings = [",".join(combo) for n in (1, 2, 3) for combo in itertools.permutations(kinds, n)]
    statuses = {client.get("/calendar/events.ics", {"kind": spelling}).status_code for spelling in spellings}
    doubled = client.get("/calendar/events.ics", {"kind": "salon,salon"})
    single = client.get("/calendar/events.ics", {"kind": "salon"})

    assert statuses == {200} and len(spellings) > 80
    assert upload().status_code == 429  # the limit survived
    assert doubled["ETag"] == single["ETag"]
    assert len(caches["default"]._list_cache_files()) < 10
