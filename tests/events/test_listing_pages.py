"""Listings a page at a time (attack round 6 on stored occurrences): a mass of daily series filled every
capped list before a later event, and lazily expanded listings were blanked by one organizer's many series.
Nothing that exists may be unreachable: the API and the list page continue after a cursor, the month grid
caps each day on its own, and the events expanded lazily are chosen in turns across organizers."""

import base64
import re
from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from events import listing, selectors, services, views
from events.models import Event
from tests.conftest import api_for, make_user
from tests.events import common
from tests.events.test_listing import SH, at, create, lazily, no_expansion

pytestmark = pytest.mark.django_db
ANON = AnonymousUser()
clock = common.clock  # autouse: time stands at NOW in every test of this module


@pytest.fixture
def crowd(settings):
    """12 daily series of two organizers at 09:00, and another organizer's seminar weeks later."""
    settings.EVENTS_CREATED_PER_DAY = 100
    for n in range(2):
        org = make_user(f"mass{n}", "organizer")
        for i in range(6):
            create(org, f"晨读{n}-{i}", at(2026, 11, 26, 9) + timedelta(minutes=i), rrule="FREQ=DAILY", kind="reading")
    return create(make_user("org2", "organizer"), "担保物权实现程序研讨会", at(2026, 12, 20, 8), kind="seminar")


def walk(**kwargs) -> tuple[list[dict], int]:
    """Every item of a listing, page after page through ``next``; and the number of pages."""
    items, after, pages = [], None, 0
    while True:
        page = selectors.occurrence_list(**kwargs, after=after)
        items += page.items
        pages += 1
        if page.next is None:
            return items, pages
        after = selectors.parse_cursor(page.next)


@pytest.mark.parametrize("stored", [True, False])
def test_pages_after_a_cursor_reach_every_occurrence(crowd, stored, monkeypatch):
    span = {"viewer": ANON, "start": at(2026, 12, 1), "end": at(2027, 1, 1)}
    full = lazily(**span, limit=10_000)
    if stored:
        no_expansion(monkeypatch)
        items, pages = walk(**span, limit=50)
    else:
        items, pages = lazily_walk(**span, limit=50)

    assert items == full.items and len(items) == 31 * 12 + 1
    assert pages == 8
    assert crowd.pk in {i["event"] for i in items}


def lazily_walk(**kwargs):
    Event.objects.update(listed_from=listing.EMPTY, listed_until=listing.EMPTY)
    return walk(**kwargs)


def test_the_api_pages_with_after_and_limit_and_refuses_bad_ones(crowd):
    api = api_for(make_user("judge1", "judge"))
    query = {"from": "2026-12-01", "to": "2026-12-31", "limit": 100}
    seen, body = [], {"next": None}
    while True:
        body = api.get("/api/v1/occurrences", {**query, **({"after": body["next"]} if body["next"] else {})}).json()
        seen += [(i["event"], i["start"]) for i in body["items"]]
        assert body["count"] == len(body["items"]) <= 100
        if body["next"] is None:
            break
        assert body["truncated"] is True
    assert len(seen) == len(set(seen)) == 31 * 12 + 1 and crowd.pk in {e for e, _ in seen}
    assert body["truncated"] is False

    # The eighth attack: an event id of 2**63 in a forged cursor reached SQLite (a 500).
    huge = base64.urlsafe_b64encode(b"2027-01-01T00:00:00+00:00|9223372036854775808|2027-01-01T00:00:00+00:00").decode()
    for params, field in [({"limit": 0}, "limit"), ({"limit": 1001}, "limit"), ({"after": "garbage"}, "after"),
                          ({"after": "MjAyNi0xMi0wMXwxfDI"}, "after"), ({"after": huge}, "after")]:
        response = api.get("/api/v1/occurrences", {**query, **params})
        assert response.status_code == 422, params
        assert [e["field"] for e in response.json()["detail"]] == [field]
        assert response.json()["detail"][0]["loc"] == ["query", field]  # not "body" (attack round 9)


def test_the_list_page_links_to_the_next_page_and_starts_at_a_day(crowd, monkeypatch):
    monkeypatch.setattr(views, "LIST_PAGE", 20)
    client, url, pages, text = Client(), "/events?from=2026-12-20", 0, ""
    while url and "担保物权实现程序研讨会" not in text:
        text = client.get(url).content.decode()
        found = re.search(r'<a rel="next" href="([^"]+)"', text)
        url = "/events" + unescape(found.group(1)) if found else None
        pages += 1
    # The seminar begins 2026-12-20 at 08:00: the first item of the list from that day.
    assert pages == 1 and "2026-12-20 起" in text
    first = client.get("/events").content.decode()
    assert "担保物权实现程序研讨会" not in first and 'rel="next"' in first
    href = unescape(re.search(r'<a rel="next" href="([^"]+)"', client.get("/events?kind=reading").content.decode())[1])
    assert "kind=reading" in href and "after=" in href
    assert "晨读" in client.get("/events" + href).content.decode()
    assert client.get("/events?after=garbage&from=2026-13-01").status_code == 200


@pytest.mark.parametrize("stored", [True, False])
def test_a_busy_day_in_the_month_grid_cannot_push_other_days_out(crowd, stored, monkeypatch):
    later = create(make_user("org3", "organizer"), "冬至茶座", at(2026, 12, 22, 20), kind="tea_talk")
    if stored:
        monkeypatch.setattr(selectors, "MAX_LISTED", 20)  # what used to cap the whole month: filled in 2 days
    else:
        Event.objects.update(listed_from=listing.EMPTY, listed_until=listing.EMPTY)

    text = Client().get("/events?view=month&month=2026-12").content.decode()

    assert "担保物权实现程序研讨会" in text and "冬至茶座" not in text and later.pk
    more = re.findall(r'href="/events\?from=(2026-12-\d\d)">\+(\d+) 更多', text)
    # 12 a day, 4 shown; the 20th and 22nd hold one more each (the seminar is shown, the tea talk is not).
    assert dict(more) == {f"2026-12-{d:02}": str(9 if d in (20, 22) else 8) for d in range(1, 32)}
    # December's 31 days and the grid's neighbouring days (11-30, 01-01 … 01-03), which show theirs too.
    assert text.count("month-item") == (31 + 4) * 4
    assert "部分活动未能显示" not in text


def test_one_organizers_mass_of_series_cannot_blank_a_lazily_expanded_listing(settings, monkeypatch):
    """Beyond the stored window, listings expanded the 500 earliest-starting uncovered events and cut the list
    at the start of the first left out: daily series from 2026 blanked every listing of 2030."""
    settings.EVENTS_CREATED_PER_DAY = 100
    monkeypatch.setattr(selectors, "MAX_LISTED_EVENTS", 5)
    mass = make_user("mass0", "organizer")
    for i in range(8):
        create(mass, f"晨读{i}", at(2026, 11, 26, 9) + timedelta(minutes=i), rrule="FREQ=DAILY")
    weekly = create(make_user("org2", "organizer"), "周三读书会", at(2027, 1, 6, 19), rrule="FREQ=WEEKLY")
    span = {"viewer": ANON, "start": at(2030, 1, 1), "end": at(2030, 2, 1)}

    page = selectors.occurrence_list(**span)

    titles = [i["title"] for i in page.items]
    assert titles.count("周三读书会") == 5 and weekly.pk
    # In turns: each organizer's earliest first, then the mass organizer's next three.
    assert {t for t in titles if t != "周三读书会"} == {"晨读0", "晨读1", "晨读2", "晨读3"}
    assert len(titles) == 5 + 4 * 31
    # Events were left out: the list is not all there is, and no later page would hold them.
    assert (page.truncated, page.next) == (True, None)


def test_an_occurrence_moved_before_its_series_start_is_listed_lazily():
    org = make_user("org1", "organizer")
    weekly = create(org, "周三读书会", at(2027, 6, 2, 19), rrule="FREQ=WEEKLY")
    services.override_set(event=weekly, actor=org, recurrence_id=at(2027, 6, 2, 19),
                          changes={"start": at(2027, 5, 27, 15)})
    span = {"viewer": ANON, "start": at(2027, 5, 1), "end": at(2027, 6, 1)}

    stored = selectors.occurrence_list(**span)
    lazy = lazily(**span)

    assert [(i["event"], i["start"].astimezone(SH)) for i in lazy.items] == [(weekly.pk, at(2027, 5, 27, 15))]
    assert lazy.items == stored.items
