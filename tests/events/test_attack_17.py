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

from accounts.models import CalendarLink
from accounts.services import calendar_link_create, calendar_token_rotate
from core.errors import InvalidInput
from events import feeds, services
from events.forms import EventForm, IdListField
from events.models import Event, Venue
from library.models import Book
from library.services import book_create
from tests.clock import SH, clock  # noqa: F401  (autouse: time stands still)
from tests.conftest import api_for
from tests.events.test_event_form import form, logged_in

pytestmark = pytest.mark.django_db


def post(client: Client, page: str, data: dict, *, action: str | None = None):
    """Submit a form of ``page`` as a browser does (the CSRF token from the page), to ``action`` or the page."""
    html = client.get(page).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return client.post(action or page, {"csrfmiddlewaretoken": token, **data})


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


# --- 6. a calendar link's name hides nothing ----------------------------------------------------------------


HIDDEN_NAMES = ["手机\u202e koolt uO", "手\u200b机", "\u200b", "\ufeff手机", "手机\u2066", "\u0301手机", "手机\u3164"]


@pytest.mark.parametrize("name", HIDDEN_NAMES)
def test_the_api_refuses_a_link_name_with_hidden_characters_naming_the_field(judge, name):
    api = api_for(judge)
    made = api.post("/api/v1/me/calendar-links", {"name": "手机"}).json()

    created = api.post("/api/v1/me/calendar-links", {"name": name})
    renamed = api.patch(f"/api/v1/me/calendar-links/{made['id']}", {"name": name})

    for response in (created, renamed):
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["detail"]] == ["name"]
    assert list(CalendarLink.objects.values_list("name", flat=True)) == ["手机"]


@pytest.mark.parametrize("name", HIDDEN_NAMES)
def test_me_refuses_a_link_name_with_hidden_characters_as_a_form_error(judge, name):
    phone = calendar_link_create(user=judge, name="手机")
    client = logged_in(judge)

    post(client, "/me", {"name": name}, action="/me/calendar-link")
    html = client.get("/me").content.decode()
    post(client, "/me", {"action": "save", "name": name, "scope": "mine"}, action=f"/me/calendar-links/{phone.pk}")
    again = client.get("/me").content.decode()

    assert "名称：不能含不可见字符或方向控制符" in html and "名称：不能含不可见字符或方向控制符" in again
    assert list(CalendarLink.objects.values_list("name", flat=True)) == ["手机"]


def test_the_service_refuses_a_hidden_name_whoever_calls_it(judge):
    with pytest.raises(InvalidInput) as refused:
        calendar_link_create(user=judge, name="手机\u202e")
    assert (refused.value.field, refused.value.code) == ("name", "hidden_characters")
    assert not CalendarLink.objects.exists()


def test_ordinary_names_in_any_script_are_kept(judge):
    api = api_for(judge)
    names = ["办公室 Outlook", "ᠮᠣᠩᠭᠣᠯ", "手机（新）", "iPad · 家里"]

    assert [api.post("/api/v1/me/calendar-links", {"name": n}).status_code for n in names] == [201] * 4
    assert sorted(CalendarLink.objects.values_list("name", flat=True)) == sorted(names)


# --- 7. /me is never cached -------------------------------------------------------------------------------


def test_me_shows_feed_addresses_and_is_never_stored_by_a_cache(judge):
    link = calendar_link_create(user=judge, name="手机")
    client = logged_in(judge)

    response = client.get("/me")

    assert link.token() in response.content.decode()
    assert set(response["Cache-Control"].replace(" ", "").split(",")) == {
        "max-age=0", "no-cache", "no-store", "must-revalidate", "private"}
