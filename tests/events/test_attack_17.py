"""Findings of the live attack of issue 17, each with the behaviour that closes it: a long reading list is
refused before it is parsed, a free slot near the end of time is a form error (never a 500), and one
occurrence's calendar file has one spelling (and one cache entry).  The library clock stands at Wednesday
2026-12-02 10:00."""

import logging
import re
import time
from datetime import datetime, timedelta

import pytest
from django.test import Client

from accounts.services import calendar_token_rotate
from events import feeds, services
from events.forms import EventForm, IdListField
from events.models import Event, Venue
from library.models import Book
from library.services import book_create
from tests.clock import SH, clock  # noqa: F401  (autouse: time stands still)
from tests.events.test_event_form import form, logged_in, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", capacity=20)


# --- 1. the reading list's ids: at most 100, counted before they are parsed --------------------------------


def test_more_than_a_hundred_reading_ids_are_refused_on_the_field(organizer):
    books = [book_create(title=f"书{i}", year=2020) for i in range(101)]

    html = post(logged_in(organizer), "/organize",
                form(books=" ".join(str(b.pk) for b in books))).content.decode()

    assert '<p class="messages"><span class="error">图书最多 100 项</span></p>' in html
    assert Event.objects.count() == 0


def test_a_hundred_reading_ids_are_kept_once_each_in_order(organizer):
    books = [book_create(title=f"书{i}", year=2020) for i in range(100)]
    ids = [str(b.pk) for b in reversed(books)]

    response = post(logged_in(organizer), "/organize", form(books=[" ".join(ids[:50]), ", ".join(ids[50:]), ids[0]]))

    assert response.status_code == 302, re.findall(r'class="error">(.*?)<', response.content.decode())
    event = Event.objects.get()
    assert sorted(event.books.values_list("pk", flat=True)) == sorted(b.pk for b in books)


@pytest.mark.parametrize("value", [
    # The attack (quadratic: 300,000 ids held a worker past its timeout), kept small enough that the code
    # before the fix took seconds here, not hours.
    " ".join(str(i) for i in range(1, 20_001)),
    "1 " * 300_000,  # duplicates only
    ["1"] * 1000,  # as many hidden inputs as Django lets through
])
def test_a_huge_id_list_is_refused_at_once_whatever_its_shape(value):
    field = IdListField(model=Book, label="图书")
    began = time.perf_counter()

    with pytest.raises(Exception) as refused:
        field.to_python(value)

    assert time.perf_counter() - began < 0.2
    assert refused.value.code == "too_many"


def test_the_papers_list_says_its_own_name():
    field = EventForm().fields["papers"]
    with pytest.raises(Exception) as refused:
        field.to_python([str(i) for i in range(1, 102)])
    assert refused.value.messages == ["调研成果最多 100 项"]


def test_a_reading_list_step_with_a_huge_list_answers_quickly(organizer):
    client = logged_in(organizer)
    client.get("/organize")  # the first request of a process imports the URL conf: not what is timed
    huge = " ".join(str(i) for i in range(1, 20_001))
    began = time.perf_counter()

    response = post(client, "/organize", {"title": "", "reading_list": "1", "books": huge, "find_reading": "1"})

    assert response.status_code == 200 and time.perf_counter() - began < 2


# --- 2. a chosen free slot is checked before any arithmetic ---------------------------------------------------


@pytest.mark.parametrize(("slot", "start", "end", "said"), [
    ("9999-12-31T23:30", "19:00", "20:00", "所选时段须在 2000 至 2100 年之间"),
    ("0001-01-01T00:10", "20:00", "19:00", "所选时段须在 2000 至 2100 年之间"),
    ("2026-12-09T16:30", "20:00", "19:00", "结束时间必须晚于开始时间"),
    ("2026-12-09T1630", "15:00", "16:00", "所选时段无效，请重新选择。"),
])
def test_a_bad_free_slot_is_a_form_error_and_nothing_is_saved(organizer, room, slot, start, end, said):
    response = post(logged_in(organizer), "/organize",
                    form(venue=str(room.pk), slot=slot, start_time=start, end_time=end))

    assert response.status_code == 200
    assert f'<p class="error">{said}</p>' in response.content.decode()
    assert Event.objects.count() == 0


def test_a_bad_free_slot_on_the_edit_page_changes_nothing(organizer, room):
    event = services.event_create(data=services.EventData(
        title="讲座", kind="lecture", start=datetime(2026, 12, 9, 15, tzinfo=SH), end=datetime(2026, 12, 9, 16, tzinfo=SH),
        venue=room.pk), actor=organizer)

    response = post(logged_in(organizer), f"/organize/{event.pk}/edit",
                    form(venue=str(room.pk), slot="9999-12-31T23:30", start_time="19:00", end_time="20:00"))

    assert response.status_code == 200 and "所选时段须在 2000 至 2100 年之间" in response.content.decode()
    event.refresh_from_db()
    assert (event.start, event.end) == (datetime(2026, 12, 9, 15, tzinfo=SH), datetime(2026, 12, 9, 16, tzinfo=SH))


# --- 3. one spelling, one cache entry for an occurrence's calendar file ---------------------------------------


@pytest.fixture
def series(organizer, room):
    first = datetime(2026, 12, 9, 19, 0, tzinfo=SH)
    return services.event_create(data=services.EventData(
        title="读者沙龙", kind="salon", start=first, end=first + timedelta(hours=2), venue=room.pk,
        rrule="FREQ=WEEKLY;BYDAY=WE;COUNT=4"), actor=organizer, force=True)


@pytest.mark.parametrize("spelling", [
    "20261209t110000Z", "20261209T110000z", "20261209t110000z",
    "２０２６１２０９T１１００００Z",  # full-width digits
    "20261209T11000０Z",
    "٢٠٢٦١٢٠٩T١١٠٠٠٠Z",  # Arabic-Indic digits
    "%2020261209T110000Z", "20261209T110000Z%0A",
])
def test_only_the_canonical_spelling_of_an_occurrence_is_served(series, spelling, monkeypatch):
    keys = []
    real = feeds._render
    monkeypatch.setattr(feeds, "_render", lambda key, *args: keys.append(key) or real(key, *args))

    odd = Client().get(f"/calendar/events/{series.pk}/{spelling}.ics")
    canonical = Client().get(f"/calendar/events/{series.pk}/20261209T110000Z.ics")

    assert odd.status_code == 404
    assert canonical.status_code == 200
    assert keys == [f"occurrence:{series.pk}:20261209T110000Z"]


# --- 5. no calendar secret in any log line -------------------------------------------------------------------


def _logged(caplog) -> str:
    """Every record as it would be written: message and structured fields."""
    return "\n".join(f"{r.name} {r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)


@pytest.mark.parametrize(("path", "logged"), [
    ("/calendar/u/fgcal__S3cretS3cretS3cret.ics", "/calendar/u/….ics"),  # an empty lookup
    ("/calendar/u/fgcаl_0123456789abcdef_S3cretS3cretS3cret.ics", "/calendar/u/….ics"),  # a Cyrillic а
    ("/calendar/u/ｆgcal_0123456789abcdef_S3cretS3cretS3cret.ics", "/calendar/u/….ics"),  # a full-width ｆ
    ("/calendar/u/S3cretS3cretS3cret", "/calendar/u/…"),
    ("/calendar/u/fgcal_0123456789abcdef_S3cretS3cretS3cret.ics", "/calendar/u/fgcal_0123456789abcdef_….ics"),
    ("/calendar/u/fgcal_0123456789abcdef0123_S3cretS3cretS3cret.ics", "/calendar/u/….ics"),  # no such lookup
    ("/calendar/u/fgcal_ab_S3cret S3cret%0AS3cret.ics/", "/calendar/u/fgcal_ab_….ics/"),
])
def test_the_request_log_never_holds_a_feed_secret_whatever_the_spelling(client, caplog, path, logged):
    caplog.set_level(logging.INFO)

    response = client.get(path.replace(" ", "%20"))

    assert response.status_code == 404
    (line,) = [r for r in caplog.records if r.name == "shuyuan.request"]
    assert line.getMessage() == f"GET {logged} 404" and line.fields["path"] == logged
    assert "S3cret" not in _logged(caplog)


def test_a_server_error_on_a_feed_logs_the_path_without_its_secret(judge, caplog, monkeypatch):
    token = calendar_token_rotate(user=judge)
    lookup = token.split("_")[1]

    def broken(value):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(feeds, "calendar_link_for_token", broken)
    response = Client(raise_request_exception=False).get(f"/calendar/u/{token}.ics")

    assert response.status_code == 500
    (error,) = [r for r in caplog.records if r.name == "django.request"]
    assert error.getMessage() == f"Internal Server Error: /calendar/u/fgcal_{lookup}_….ics"
    assert token.split("_", 2)[2] not in _logged(caplog)


def test_runserver_request_lines_lose_the_secret_too(caplog):
    caplog.set_level(logging.WARNING)

    logging.getLogger("django.server").warning('"%s" %s %s', "GET /calendar/u/fgcal_ab12_S3cret.ics HTTP/1.1", "404", "0")

    assert caplog.records[-1].getMessage() == '"GET /calendar/u/fgcal_ab12_….ics HTTP/1.1" 404 0'
