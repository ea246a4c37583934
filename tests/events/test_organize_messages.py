"""The organizer's form after the routine walk of issue 17: a venue conflict is announced at the top of the form
(linking to the conflict beside the venue), free slots say start and end, and the saved message says when the
event takes place."""

import re
from datetime import datetime
from html import unescape

import pytest

from events import services
from events.models import Event, Venue
from tests.clock import SH, clock  # noqa: F401  (autouse: time stands still)
from tests.events.test_event_form import form, logged_in, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(db):
    return Venue.objects.create(name="法官书苑阅览室", capacity=20)


@pytest.fixture
def booked(organizer, room):
    return services.event_create(data=services.EventData(
        title="读书会", kind="reading", start=datetime(2026, 12, 9, 14, tzinfo=SH),
        end=datetime(2026, 12, 9, 16, tzinfo=SH), venue=room.pk), actor=organizer)


def _messages(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<li class="success">(.*?)</li>', html, re.S)]


def test_a_conflict_on_save_is_announced_at_the_top_of_the_form(organizer, room, booked):
    html = post(logged_in(organizer), "/organize", form(venue=str(room.pk))).content.decode()

    top = re.search(r'<form method="post" class="card event-form" id="event-form"[^>]*>(.*?)<fieldset', html, re.S).group(1)
    assert re.findall(r'<div class="messages" role="alert" id="conflict-summary"><p class="error">(.*?)</p></div>', top) == [
        '<a href="#conflict">未保存：场地有冲突，见下方“场地”</a>']
    assert html.count('role="alert"') == 1
    assert '<div class="conflict" id="conflict">' in html
    assert '<p class="error" id="conflict-heading" tabindex="-1"><strong>场地冲突</strong>' in html
    assert Event.objects.count() == 1


def test_a_conflict_found_by_preview_is_announced_without_saying_unsaved(organizer, room, booked):
    data = form(venue=str(room.pk), preview="1")
    data.pop("save")

    html = post(logged_in(organizer), "/organize", data).content.decode()

    assert re.findall(r'id="conflict-summary"><p class="error"><a href="#conflict">(.*?)</a>', html) == [
        "场地有冲突，见下方“场地”"]


def test_the_page_without_a_conflict_has_no_summary(organizer, room):
    data = form(venue=str(room.pk), preview="1")
    data.pop("save")

    html = post(logged_in(organizer), "/organize", data).content.decode()

    assert "conflict-summary" not in html and 'id="conflict"' not in html


def test_saving_a_one_off_event_says_its_date_and_hours(organizer):
    client = logged_in(organizer)

    response = post(client, "/organize", form(date="2026-12-16", start_time="19:30", end_time="20:30"))

    event = Event.objects.get()
    assert response["Location"] == f"/events/{event.pk}"
    assert _messages(client.get(response["Location"]).content.decode()) == [
        "已安排「讲座」：2026-12-16（星期三）19:30—20:30。"]


def test_saving_through_a_free_slot_says_the_slots_date_and_hours(organizer, room, booked):
    client = logged_in(organizer)

    response = post(client, "/organize", form(venue=str(room.pk), slot="2026-12-09T16:30"))

    assert _messages(client.get(response["Location"]).content.decode()) == [
        "已安排「讲座」：2026-12-09（星期三）16:30—17:30。"]


def test_saving_an_edit_says_when_the_event_now_takes_place(organizer):
    mine = services.event_create(data=services.EventData(
        title="讲座", kind="lecture", start=datetime(2026, 12, 9, 10, tzinfo=SH), end=datetime(2026, 12, 9, 11, tzinfo=SH)),
        actor=organizer)
    client = logged_in(organizer)

    response = post(client, f"/organize/{mine.pk}/edit", form(start_time="14:00", end_time="15:30"))

    assert _messages(client.get(response["Location"]).content.decode()) == [
        "已保存「讲座」：2026-12-09（星期三）14:00—15:30。"]  # nobody registered: nobody told
