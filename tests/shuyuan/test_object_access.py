"""Object-level access: a judge's loans, holds, registrations and feed are theirs alone; internal papers
and events never reach anonymous readers.

Which status every actor gets from every endpoint is in test_authorization_matrix.py (another judge's
loan, hold, registration or token: 404; an internal paper or event page for anonymous: 404).  These
tests look at the data.  Already covered elsewhere, and not repeated here:

- tests/library/test_circulation.py: another judge's loan detail and renewal are 404 and their loan
  list is empty; cancelling another judge's hold is 404.
- tests/library/test_papers_api.py: anonymous API readers get public papers only (list, detail, file).
- tests/events/test_events_api.py: an internal event's API detail is 404 for anonymous; another
  organizer may not PATCH or DELETE an event.
- tests/events/test_feeds.py: internal events stay out of /calendar/events.ics and
  /calendar/events/<id>.ics; a rotated or made-up personal feed token is 404.
- tests/search_index/test_search.py: /api/v1/search finds internal papers for logged-in users only.
- tests/web/test_pages.py: book and event pages list internal events and papers to logged-in users only.
"""

from datetime import timedelta

import icalendar
import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role
from accounts.services import calendar_token_rotate
from events import services as event_services
from events.models import FeedFragment, Registration
from events.receivers import bump_feeds
from library import circulation
from library.models import Hold, Loan
from library.services import book_create, copy_create, paper_create
from search_index import services as search
from tests.conftest import api_for, make_user

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _book(title: str, barcode: str):
    book = book_create(title=title)
    copy_create(book=book, barcode=barcode)
    return book


def _future(days: int):
    return (timezone.now() + timedelta(days=days)).replace(second=0, microsecond=0)


def _event(organizer, title: str, days: int, **data):
    start = _future(days)
    return event_services.event_create(data=event_services.EventData(
        title=title, kind="salon", start=start, end=start + timedelta(hours=2), capacity=20, **data), actor=organizer)


@pytest.fixture
def other_judge(db):
    return make_user("judge2", Role.JUDGE, display_name="李法官")


@pytest.fixture
def patrons(judge, other_judge, librarian):
    """Each judge with a loan, a waiting hold and a registration of their own."""
    reader = make_user("reader1", Role.JUDGE)
    loans, holds = {}, {}
    for user, n in ((judge, 1), (other_judge, 2)):
        loans[user.username] = circulation.loan_checkout(patron=user, actor=user, book=_book(f"借阅{n}", f"L{n}"))
        wanted = _book(f"预约{n}", f"W{n}")
        circulation.loan_checkout(patron=reader, actor=reader, book=wanted)
        holds[user.username] = circulation.hold_place(patron=user, book=wanted, actor=user)
    return {"loans": loans, "holds": holds}


@pytest.fixture
def salon(organizer, judge, other_judge):
    event = _event(organizer, "读者沙龙", 5)
    return {
        "event": event,
        "judge": event_services.registration_create(event=event, user=judge),
        "other_judge": event_services.registration_create(event=event, user=other_judge),
    }


# --- a judge's own things ---------------------------------------------------------------------------------


def test_loan_and_hold_lists_hold_only_the_viewers_own_even_when_asked_for_another(patrons, judge, other_judge,
                                                                                   librarian):
    own_loan, own_hold = patrons["loans"]["judge1"].pk, patrons["holds"]["judge1"].pk
    other = api_for(other_judge)

    mine = api_for(judge)

    assert [loan["id"] for loan in mine.get("/api/v1/loans").json()["items"]] == [own_loan]
    assert [hold["id"] for hold in mine.get("/api/v1/holds").json()["items"]] == [own_hold]
    assert other.get("/api/v1/loans", {"patron": "judge1"}).json() == {"items": [], "count": 0}
    assert other.get("/api/v1/holds", {"patron": "judge1"}).json() == {"items": [], "count": 0}
    assert other.get("/api/v1/loans", {"book": patrons["loans"]["judge1"].book_id}).json()["count"] == 0
    assert other.get(f"/api/v1/holds/{own_hold}").status_code == 404
    # The filter is the viewer, not an empty table: the librarian sees both judges' loans.
    assert api_for(librarian).get("/api/v1/loans").json()["count"] == 4  # two each, with reader1's


def test_my_registrations_and_my_page_show_only_my_own(salon, patrons, judge, other_judge):
    response = api_for(other_judge).get("/api/v1/me/registrations")

    assert [r["id"] for r in response.json()] == [salon["other_judge"].pk]
    page = logged_in(other_judge).get("/me").content.decode()
    assert "借阅2" in page and "借阅1" not in page
    assert "预约2" in page and "预约1" not in page


def test_refused_changes_to_another_judges_things_change_nothing(settings, patrons, salon, judge, other_judge):
    settings.SELF_RETURN = True
    loan, hold, registration = patrons["loans"]["judge1"], patrons["holds"]["judge1"], salon["judge"]
    api, page = api_for(other_judge), logged_in(other_judge)

    answers = [
        api.post(f"/api/v1/loans/{loan.pk}/renew").status_code,
        api.post(f"/api/v1/loans/{loan.pk}/return").status_code,
        api.delete(f"/api/v1/holds/{hold.pk}").status_code,
        api.delete(f"/api/v1/registrations/{registration.pk}").status_code,
        api.post(f"/api/v1/registrations/{registration.pk}/check-in").status_code,
        page.post(f"/me/loans/{loan.pk}/renew").status_code,
        page.post(f"/me/holds/{hold.pk}/cancel").status_code,
        page.post(f"/registrations/{registration.pk}/cancel").status_code,
    ]

    assert answers == [404] * 8
    after = Loan.objects.get(pk=loan.pk)
    assert (after.status, after.renewals, after.due_date) == (Loan.Status.ACTIVE, 0, loan.due_date)
    assert Hold.objects.get(pk=hold.pk).status == Hold.Status.WAITING
    registration.refresh_from_db()
    assert (registration.status, registration.checked_in_at) == (Registration.Status.CONFIRMED, None)
    # With SELF_RETURN on, the borrower may return it: the refusal above was about whose loan it is.
    assert api_for(judge).post(f"/api/v1/loans/{loan.pk}/return").status_code == 200


def _feed(user) -> icalendar.Calendar:
    response = Client().get(f"/calendar/u/{calendar_token_rotate(user=user)}.ics")
    assert response.status_code == 200
    return icalendar.Calendar.from_ical(response.content)


def test_a_personal_feed_shows_its_owners_loans_pickups_and_registrations_only(
        patrons, salon, judge, other_judge, librarian):
    # judge1's hold becomes ready: the copy comes back and waits on the shelf for them.
    waited_on = Loan.objects.get(copy__barcode="W1", status=Loan.Status.ACTIVE)
    circulation.loan_return(loan=waited_on, actor=librarian)
    ready = patrons["holds"]["judge1"]

    mine, theirs = _feed(judge), _feed(other_judge)

    def uids(cal):
        return {str(v["UID"]) for v in cal.walk("VEVENT")} - {f"{salon['event'].uid}@shuyuan"}

    assert uids(mine) == {f"loan-{patrons['loans']['judge1'].pk}@shuyuan", f"hold-{ready.pk}@shuyuan"}
    assert uids(theirs) == {f"loan-{patrons['loans']['judge2'].pk}@shuyuan"}
    # Both registered for the salon; each feed names its owner only.
    assert str(mine["X-WR-CALNAME"]) == "法官书苑 · 张法官" and str(theirs["X-WR-CALNAME"]) == "法官书苑 · 李法官"


# --- internal papers and events ------------------------------------------------------------------------------


@pytest.fixture
def hidden(organizer):
    """A public event whose reading list has an internal paper, and an internal event."""
    paper = paper_create(title="执行难内部调研", visibility="internal")
    public = _event(organizer, "公开沙龙", 5, papers=[paper.pk])
    internal = _event(organizer, "院内读书会", 6, visibility="internal")
    return {"paper": paper, "public": public, "internal": internal}


def test_anonymous_api_lists_leave_out_internal_events(hidden, judge):
    anonymous, reader = Client(), api_for(judge)
    internal = hidden["internal"].pk

    assert [e["id"] for e in anonymous.get("/api/v1/events").json()["items"]] == [hidden["public"].pk]
    assert [o["event"] for o in anonymous.get("/api/v1/occurrences").json()["items"]] == [hidden["public"].pk]
    assert internal in [e["id"] for e in reader.get("/api/v1/events").json()["items"]]
    assert internal in [o["event"] for o in reader.get("/api/v1/occurrences").json()["items"]]


def test_an_internal_paper_on_a_public_event_is_named_to_logged_in_readers_only(hidden, judge):
    event, paper = hidden["public"], hidden["paper"]
    anonymous = Client()

    detail = anonymous.get(f"/api/v1/events/{event.pk}").json()

    assert detail["papers"] == []
    assert [e["papers"] for e in anonymous.get("/api/v1/events").json()["items"]] == [[]]
    assert api_for(judge).get(f"/api/v1/events/{event.pk}").json()["papers"] == [{"id": paper.pk,
                                                                                  "title": paper.title}]
    for feed in ("/calendar/events.ics", f"/calendar/events/{event.pk}.ics"):
        text = anonymous.get(feed).content.decode().replace("\r\n ", "")
        assert "SUMMARY:公开沙龙" in text and paper.title not in text


def test_a_feed_entry_stored_before_the_fix_is_rebuilt(hidden):
    event = hidden["public"]
    Client().get("/calendar/events.ics")
    fragment = FeedFragment.objects.get(event=event)
    # An entry as the code before FRAGMENT_FORMAT 2 stored it: named the internal paper, stamped without a format.
    event.refresh_from_db()
    old_stamp = f"{event.revision}|{event.updated_at.isoformat()}|{event.sequence}|||0|0"
    leaked = fragment.body.replace("END:VEVENT", f"COMMENT:阅读书目：《{hidden['paper'].title}》\r\nEND:VEVENT")
    assert leaked != fragment.body
    FeedFragment.objects.filter(pk=fragment.pk).update(stamp=old_stamp, body=leaked)
    bump_feeds()

    text = Client().get("/calendar/events.ics").content.decode().replace("\r\n ", "")

    assert "SUMMARY:公开沙龙" in text and hidden["paper"].title not in text
    assert FeedFragment.objects.get(event=event).stamp == fragment.stamp


def test_search_page_finds_internal_papers_for_logged_in_readers_only(hidden, judge):
    search.index_rebuild()

    anonymous = Client().get("/", {"q": "执行难"}).content.decode()
    reader = logged_in(judge).get("/", {"q": "执行难"}).content.decode()

    assert "内部调研" not in anonymous and "共 0 条结果" in anonymous
    assert "<mark>执行难</mark>内部调研" in reader and "共 1 条结果" in reader


@pytest.mark.parametrize("query", [{}, {"view": "month"}])
def test_event_list_page_leaves_out_internal_events_for_anonymous(hidden, judge, query):
    if query:
        query = {**query, "month": f"{timezone.localtime(hidden['internal'].start):%Y-%m}"}

    anonymous = Client().get("/events", query).content.decode()
    reader = logged_in(judge).get("/events", query).content.decode()

    assert "院内读书会" not in anonymous and "院内读书会" in reader


# --- another organizer ------------------------------------------------------------------------------------------


MANAGEMENT = [
    ("PATCH", "/api/v1/events/{event}", {"title": "改"}, 403),
    ("DELETE", "/api/v1/events/{event}", None, 403),
    ("POST", "/api/v1/events/{event}/cancel", {"reason": "停办"}, 403),
    ("POST", "/api/v1/events/{event}/overrides", {"recurrence_id": "{start}", "title": "改"}, 403),
    ("GET", "/api/v1/events/{event}/registrations", None, 403),
    ("DELETE", "/api/v1/events/{event}/attachments/{attachment}", None, 403),
    ("POST", "/api/v1/registrations/{registration}/check-in", None, 404),
    ("DELETE", "/api/v1/registrations/{registration}", None, 404),
    ("GET", "/organize/{event}", None, 404),
    ("GET", "/organize/{event}/edit", None, 404),
    ("GET", "/organize/{event}/attendees", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), MANAGEMENT, ids=[f"{m} {p}" for m, p, _, _ in MANAGEMENT])
def test_another_organizer_manages_none_of_an_events_things(organizer, judge, method, path, body, status):
    event = _event(organizer, "读者沙龙", 5, rrule="FREQ=WEEKLY;COUNT=4")
    registration = event_services.registration_create(event=event, user=judge)
    attachment = event_services.attachment_add(event=event, data=b"agenda", filename="agenda.txt")
    values = {"event": event.pk, "registration": registration.pk, "attachment": attachment.pk,
              "start": timezone.localtime(event.start).isoformat()}
    url = path.format(**values)
    body = {k: v.format(**values) for k, v in body.items()} if body else None
    stranger = make_user("organizer2", Role.ORGANIZER)
    if url.startswith("/api/"):
        client = api_for(stranger)
        response = getattr(client, method.lower())(url, body) if body is not None else (
            client.get(url) if method == "GET" else client.delete(url) if method == "DELETE" else client.post(url))
    else:
        response = logged_in(stranger).get(url)

    assert response.status_code == status
    event.refresh_from_db()
    registration.refresh_from_db()
    assert (event.title, event.status, event.overrides.count()) == ("读者沙龙", "scheduled", 0)
    assert (registration.status, registration.checked_in_at) == (Registration.Status.CONFIRMED, None)
    assert event.attachments.filter(pk=attachment.pk).exists()
