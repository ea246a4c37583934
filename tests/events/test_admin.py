"""The events admin keeps the API's object rules (issue 13): an organizer reaches only the events they organize.

The probe: an organizer who did not organize an event opened it in /admin/, renamed it, added themselves
as an organizer and then read its registrations through the API; the registrations list showed everyone's.
An event outside an organizer's queryset is "not found" for them, as Django's admin treats a deleted one:
every page of it redirects to the admin index.
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import Role
from events import services
from events.models import Event, Registration, Speaker
from tests.admin_forms import admin_form_data
from tests.conftest import api_for, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def organizer2(db):
    return make_user("organizer2", Role.ORGANIZER)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root", password="secret-pass-1")


def _event(organizer, title, **extra) -> Event:
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)
    return services.event_create(data=services.EventData(
        title=title, kind="salon", start=start, end=start + timedelta(hours=2), capacity=20, **extra), actor=organizer)


@pytest.fixture
def event(organizer, judge):
    event = _event(organizer, "读者沙龙", speakers=[services.SpeakerData(name="王教授")])
    services.registration_create(event=event, user=judge)
    return event


@pytest.fixture
def event2(organizer2, judge):
    event = _event(organizer2, "审判实务讲座")
    services.registration_create(event=event, user=judge)
    return event


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change(event: Event) -> str:
    return f"/admin/events/event/{event.pk}/change/"


def test_other_organizer_cannot_open_an_event_they_do_not_organize(event, organizer2, event2):
    response = _client(organizer2).get(_change(event))

    assert (response.status_code, response["Location"]) == (302, "/admin/")


def test_other_organizer_cannot_rename_it_or_join_its_organizers(event, organizer, organizer2, superuser, event2):
    form = admin_form_data(_client(superuser), _change(event))
    form.update(title=["改名"], organizers=[str(organizer.pk), str(organizer2.pk)])

    response = _client(organizer2).post(_change(event), form)

    assert (response.status_code, response["Location"]) == (302, "/admin/")
    event.refresh_from_db()
    assert (event.title, list(event.organizers.values_list("username", flat=True))) == ("读者沙龙", ["organizer1"])
    assert api_for(organizer2).get(f"/api/v1/events/{event.pk}/registrations").status_code == 403


def test_other_organizer_cannot_open_or_use_the_delete_page(event, organizer2, event2):
    client = _client(organizer2)

    shown = client.get(f"/admin/events/event/{event.pk}/delete/")
    posted = client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"})
    action = client.post("/admin/events/event/", {"action": "delete_selected", "_selected_action": [event.pk],
                                                   "post": "yes"})

    assert [r.status_code for r in (shown, posted)] == [302, 302]
    assert [shown["Location"], posted["Location"]] == ["/admin/", "/admin/"]
    assert action.status_code == 302
    assert Event.objects.filter(pk=event.pk).exists()


def test_organizers_list_only_their_events_and_registrations(event, organizer2, event2):
    client = _client(organizer2)

    events = client.get("/admin/events/event/").context["cl"].result_list
    registrations = client.get("/admin/events/registration/").context["cl"].result_list

    assert [e.pk for e in events] == [event2.pk]
    assert [r.event_id for r in registrations] == [event2.pk]


def test_an_organizer_cannot_change_the_organizers_of_their_own_event(event, organizer, organizer2, superuser):
    form = admin_form_data(_client(superuser), _change(event))
    form.update(title=["读者沙龙（第二期）"], organizers=[str(organizer.pk), str(organizer2.pk)])

    response = _client(organizer).post(_change(event), form)

    assert response.status_code == 302
    event.refresh_from_db()
    assert (event.title, list(event.organizers.values_list("username", flat=True))) == (
        "读者沙龙（第二期）", ["organizer1"])


def test_a_superuser_changes_organizers(event, organizer, organizer2, superuser):
    form = admin_form_data(_client(superuser), _change(event))
    form["organizers"] = [str(organizer.pk), str(organizer2.pk)]

    response = _client(superuser).post(_change(event), form)

    assert response.status_code == 302
    assert sorted(event.organizers.values_list("username", flat=True)) == ["organizer1", "organizer2"]


def test_a_single_event_moved_in_the_admin_keeps_its_check_ins(event, organizer, judge):
    """The admin saves the row itself, not through event_update: it calls ``services.event_start_moved`` in the
    same transaction, so the check-ins of a single event moved by a day stay with its session."""
    services.check_in(event=event, user=judge, occurrence=None, actor=organizer, now=event.start)
    moved = event.start + timedelta(days=1)
    client = _client(organizer)
    form = admin_form_data(client, _change(event))
    form.update(start_0=[f"{timezone.localtime(moved):%Y-%m-%d}"],
                end_0=[f"{timezone.localtime(moved + timedelta(hours=2)):%Y-%m-%d}"])

    response = client.post(_change(event), form)

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.start == moved
    assert list(event.attendances.values_list("occurrence", flat=True)) == [moved]
    assert list(event.listed_occurrences.values_list("recurrence_id", flat=True)) == [moved]


def test_an_event_added_in_the_admin_is_organized_by_its_creator(organizer, superuser):
    form = admin_form_data(_client(superuser), "/admin/events/event/add/")
    form.update(title=["新沙龙"], kind=["salon"], start_0=["2099-01-01"], start_1=["14:00:00"],
                end_0=["2099-01-01"], end_1=["16:00:00"])
    form.pop("organizers", None)

    response = _client(organizer).post("/admin/events/event/add/", form)

    assert response.status_code == 302
    event = Event.objects.get(title="新沙龙")
    assert (event.created_by, list(event.organizers.all())) == (organizer, [organizer])


def test_the_admin_keeps_the_apis_daily_limit_of_new_events(organizer, superuser, settings):
    """Attack round 7: an organizer refused by the API (429 too_many_events) created 63 more series here."""
    settings.EVENTS_CREATED_PER_DAY = 2
    form = admin_form_data(_client(superuser), "/admin/events/event/add/")
    form.pop("organizers", None)

    def add(title):
        form.update(title=[title], kind=["salon"], start_0=["2099-01-01"], start_1=["14:00:00"],
                    end_0=["2099-01-01"], end_1=["16:00:00"])
        return _client(organizer).post("/admin/events/event/add/", form)

    statuses = [add(f"沙龙{i}").status_code for i in range(2)]
    refused = add("第三个")
    by_superuser = _client(superuser).post("/admin/events/event/add/", form)

    assert statuses == [302, 302]
    assert refused.status_code == 200 and "最多新建 2 个活动" in refused.content.decode()
    assert by_superuser.status_code == 302  # superusers are exempt, as in the API
    assert sorted(Event.objects.values_list("title", flat=True)) == ["沙龙0", "沙龙1", "第三个"]
    assert Event.objects.get(title="第三个").created_by == superuser


def test_an_exception_in_the_admin_must_belong_to_an_occurrence_of_the_series(organizer):
    """Attack round 7: the admin's exception inline took any time; it was then listed as an occurrence."""
    start = timezone.make_aware(timezone.datetime(2027, 1, 6, 15, 0))
    series = services.event_create(data=services.EventData(
        title="周三读书会", kind="reading", start=start, end=start + timedelta(hours=1), rrule="FREQ=WEEKLY"),
        actor=organizer)
    client = _client(organizer)
    form = admin_form_data(client, _change(series))

    def with_exception(day):
        data = {**form, "overrides-TOTAL_FORMS": ["1"]}
        data.update({"overrides-0-recurrence_id_0": [day], "overrides-0-recurrence_id_1": ["15:00:00"],
                     "overrides-0-start_0": [day], "overrides-0-start_1": ["16:00:00"],
                     "overrides-0-end_0": [day], "overrides-0-end_1": ["17:00:00"], "overrides-0-status": ["scheduled"],
                     "overrides-0-title": ["改期"], "overrides-0-event": [str(series.pk)]})
        return client.post(_change(series), data)

    phantom = with_exception("2027-01-07")  # a Thursday: not an occurrence
    moved = with_exception("2027-01-13")

    assert phantom.status_code == 200 and "不是该系列的一次活动" in phantom.content.decode()
    assert moved.status_code == 302
    assert [(o.recurrence_id.date().isoformat(), o.title) for o in series.overrides.all()] == [("2027-01-13", "改期")]


def test_inlines_follow_the_event(event, organizer, organizer2):
    event_admin = admin.site._registry[Event]
    request = RequestFactory().get("/admin/")
    results = {}
    for user in (organizer, organizer2):
        request.user = User.objects.get(pk=user.pk)
        inline = next(i for i in event_admin.get_inline_instances(request) if i.model is Speaker)
        results[user.username] = (
            list(inline.get_queryset(request).values_list("name", flat=True)),
            inline.has_view_permission(request, event), inline.has_change_permission(request, event),
            inline.has_add_permission(request, event), inline.has_delete_permission(request, event),
        )

    assert results == {"organizer1": (["王教授"], True, True, True, True),
                       "organizer2": ([], False, False, False, False)}


def test_registrations_are_cancelled_not_deleted_but_go_with_their_event(event, organizer):
    client = _client(organizer)
    registration = Registration.objects.get(event=event)

    refused = client.post(f"/admin/events/registration/{registration.pk}/delete/", {"post": "yes"})
    deleted = client.post(f"/admin/events/event/{event.pk}/delete/", {"post": "yes"})

    assert (refused.status_code, deleted.status_code) == (403, 302)
    assert (Event.objects.filter(pk=event.pk).exists(), Registration.objects.filter(pk=registration.pk).exists()) == (
        False, False)


# --- the series rule (issue 13): the admin checks it as the API does ---------------------------------------


@pytest.mark.parametrize("actor", ["organizer", "superuser"])
@pytest.mark.parametrize("rrule, exdates, field", [
    ("FREQ=NONSENSE", "[]", "rrule"),
    ("FREQ=HOURLY", "[]", "rrule"),
    ("FREQ=WEEKLY;COUNT=3", '["garbage"]', "exdates"),
])
def test_admin_refuses_a_series_rule_the_api_refuses(event, request, actor, rrule, exdates, field):
    user = request.getfixturevalue(actor)
    client = _client(user)
    form = admin_form_data(client, _change(event))
    form.update(rrule=[rrule], exdates=[exdates])

    response = client.post(_change(event), form)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    event.refresh_from_db()
    assert (event.rrule, event.exdates) == ("", [])


def test_admin_stores_a_rule_in_the_api_canonical_form(event, superuser):
    client = _client(superuser)
    form = admin_form_data(client, _change(event))
    form.update(rrule=["rrule:freq=weekly;until=20991231"])

    response = client.post(_change(event), form)

    assert response.status_code == 302
    event.refresh_from_db()
    assert event.rrule == "FREQ=WEEKLY;UNTIL=20991231T155959Z"


def test_admin_names_the_start_when_it_is_not_the_rule_first_occurrence(event, superuser):
    client = _client(superuser)
    form = admin_form_data(client, _change(event))
    weekday = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][(timezone.localtime(event.start).weekday() + 1) % 7]
    form.update(rrule=[f"FREQ=WEEKLY;BYDAY={weekday};COUNT=3"])

    response = client.post(_change(event), form)

    assert list(response.context["adminform"].form.errors) == ["start"]
    event.refresh_from_db()
    assert event.rrule == ""


def test_the_admin_keeps_the_apis_past_limit_and_uploads_no_materials(organizer, superuser):
    """Attack round 8: in the admin an organizer created series from 2000, moved events and exceptions there,
    and stored a 419 MB file of random bytes as a PDF; the API refuses all of it."""
    start = timezone.make_aware(timezone.datetime(2027, 1, 6, 15, 0))
    series = services.event_create(data=services.EventData(
        title="周三读书会", kind="reading", start=start, end=start + timedelta(hours=1), rrule="FREQ=WEEKLY"),
        actor=organizer)
    client = _client(organizer)
    add = admin_form_data(_client(superuser), "/admin/events/event/add/")
    add.pop("organizers", None)
    add.update(title=["2000 年读书会"], kind=["salon"], start_0=["2000-01-01"], start_1=["14:00:00"],
               end_0=["2000-01-01"], end_1=["16:00:00"])
    change = admin_form_data(client, _change(series))

    created = client.post("/admin/events/event/add/", add)
    moved = client.post(_change(series), {**change, "start_0": ["2000-01-05"], "end_0": ["2000-01-05"]})
    exception = client.post(_change(series), {
        **change, "overrides-TOTAL_FORMS": ["1"], "overrides-0-event": [str(series.pk)],
        "overrides-0-recurrence_id_0": ["2027-01-13"], "overrides-0-recurrence_id_1": ["15:00:00"],
        "overrides-0-start_0": ["2000-03-17"], "overrides-0-start_1": ["15:00:00"],
        "overrides-0-end_0": ["2000-03-17"], "overrides-0-end_1": ["16:00:00"], "overrides-0-status": ["scheduled"]})
    by_superuser = _client(superuser).post("/admin/events/event/add/", add)

    assert [r.status_code for r in (created, moved, exception)] == [200, 200, 200]
    assert all("400 天" in r.content.decode() for r in (created, moved, exception))
    series.refresh_from_db()
    assert (series.start, series.overrides.count()) == (start, 0)
    assert by_superuser.status_code == 302  # superusers may enter history
    # Materials: listed and removable here, never uploaded (no empty upload row, no file input).
    page = client.get(_change(series)).content.decode()
    assert 'name="attachments-0-file"' not in page and 'name="attachments-__prefix__-file"' not in page
