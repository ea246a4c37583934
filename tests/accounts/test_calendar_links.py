"""Several named calendar links per person (issue 17): each verifies on its own, is shown again at any time
(derived, never stored), is renamed or revoked alone, and the person's links are capped and their making
throttled.  Tokens are cut off the URL after the site's port (a token may itself contain "8000")."""

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import CalendarLink, Role
from accounts.services import calendar_link_for_token, calendar_token_rotate
from tests.conftest import api_for, make_user

pytestmark = pytest.mark.django_db

LINKS = "/api/v1/me/calendar-links"


def path_of(url: str) -> str:
    return urlsplit(url).path


def fetch(url: str):
    return Client().get(path_of(url))


def token_of(url: str) -> str:
    return path_of(url).removeprefix("/calendar/u/").removesuffix(".ics")


@pytest.fixture
def api(judge):
    return api_for(judge)


def make(api, name: str, **body) -> dict:
    response = api.post(LINKS, {"name": name, **body})
    assert response.status_code == 201, response.content
    return response.json()


# --- several links ---------------------------------------------------------------------------------------------


def test_a_person_holds_several_links_and_revoking_one_leaves_the_others_working(api):
    phone, office, tablet = make(api, "手机"), make(api, "办公室 Outlook"), make(api, "平板")
    assert len({phone["url"], office["url"], tablet["url"]}) == 3
    assert [fetch(link["url"]).status_code for link in (phone, office, tablet)] == [200, 200, 200]

    assert api.delete(f"{LINKS}/{office['id']}").status_code == 204

    assert [fetch(link["url"]).status_code for link in (phone, office, tablet)] == [200, 404, 200]
    listed = api.get(LINKS).json()
    assert listed["count"] == 2
    assert [(item["name"], item["url"]) for item in listed["items"]] == [("手机", phone["url"]), ("平板", tablet["url"])]
    assert CalendarLink.objects.filter(pk=office["id"]).exists() is False  # revoking deletes the row


def test_a_link_is_shown_again_equal_to_the_original_and_fetches_the_feed(api, judge):
    made = make(api, "手机")

    shown = api.get(LINKS).json()["items"][0]

    assert shown == {**made, "last_fetched_at": None}
    assert made["webcal_url"] == "webcal://" + made["url"].split("://", 1)[1]
    assert made["url"].startswith("http://127.0.0.1:8000/calendar/u/fgcal_") and made["url"].endswith(".ics")
    assert (made["showable"], made["scope"], made["scope_label"]) == (True, "mine", "我的日程")
    response = fetch(shown["url"])
    assert response.status_code == 200 and response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "X-WR-CALNAME:法官书苑 · 张法官" in response.content.decode()
    # The page shows it again too, on every visit.
    client = Client()
    client.force_login(judge)
    assert client.get("/me").content.decode().count(f'value="{made["url"]}"') == 1


def test_the_secret_has_256_bits_and_is_not_the_lookup(api):
    token = token_of(make(api, "手机")["url"])
    prefix, lookup, secret = token.split("_", 2)
    assert (prefix, len(lookup), len(secret)) == ("fgcal", 16, 43)  # 64-bit random id; HMAC-SHA256 in base64url
    assert int(lookup, 16) >= 0 and lookup not in secret


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the secret changed
    lambda t: t[:-2],  # cut short
    lambda t: t + "x",
    lambda t: t.replace("fgcal_", "fgsy_", 1),
    lambda t: "_".join(t.split("_", 2)[:2]),  # no secret
    lambda t: "fgcal_" + "0" * 16 + "_" + t.split("_", 2)[2],  # another lookup, this secret
    lambda t: "garbage",
    lambda t: "fgcal__",
], ids=["changed", "short", "longer", "prefix", "no-secret", "other-lookup", "garbage", "empty-parts"])
def test_a_garbled_token_is_a_404(api, mangle):
    token = token_of(make(api, "手机")["url"])
    assert Client().get(f"/calendar/u/{token}.ics").status_code == 200

    assert Client().get(f"/calendar/u/{mangle(token)}.ics").status_code == 404


def test_another_persons_secret_never_opens_my_link(api, judge):
    """The secret is bound to the owner: a lookup of mine with a secret minted for someone else's lookup is a 404."""
    mine = token_of(make(api, "手机")["url"])
    other = token_of(make(api_for(make_user("judge9", Role.JUDGE)), "手机")["url"])
    forged = "_".join(mine.split("_", 2)[:2] + [other.split("_", 2)[2]])
    assert Client().get(f"/calendar/u/{forged}.ics").status_code == 404


def test_an_inactive_persons_links_are_a_404(api, judge):
    url = make(api, "手机")["url"]
    judge.is_active = False
    judge.save(update_fields=["is_active"])
    assert fetch(url).status_code == 404


# --- what the database holds -------------------------------------------------------------------------------------


def _every_value_in_the_database() -> str:
    """Every column of every row of every table, as text."""
    texts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the schema
            texts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(texts)


def test_no_column_of_any_row_holds_a_token_or_its_secret(api, judge):
    tokens = [token_of(make(api, name)["url"]) for name in ("手机", "办公室 Outlook")]
    tokens.append(calendar_token_rotate(user=judge))
    for token in tokens:  # fetched too: nothing about a fetch is stored with the secret
        assert Client().get(f"/calendar/u/{token}.ics").status_code == 200

    everything = _every_value_in_the_database()

    assert CalendarLink.objects.count() == 3
    for token in tokens:
        secret = token.split("_", 2)[2]
        assert token not in everything and secret not in everything
        assert hashlib.sha256(token.encode()).hexdigest() not in everything  # not even an unkeyed hash


def test_a_copy_of_the_database_alone_gives_no_working_url(api, settings):
    """What the rows hold (owner, lookup) with a guessed key — the development default — mints nothing."""
    url = make(api, "手机")["url"]
    link = CalendarLink.objects.get()
    settings.SECRET_KEY = "django-insecure-dev-only-faguan-shuyuan-do-not-use-in-production"
    guessed = link.token()
    settings.SECRET_KEY = "a-different-production-key-" + "x" * 40
    assert guessed != link.token()
    assert Client().get(f"/calendar/u/{guessed}.ics").status_code == 404
    assert fetch(url).status_code == 404  # the key was rotated without a fallback: every link stops


def test_rotating_secret_key_keeps_links_working_while_the_old_key_is_a_fallback(api, settings):
    settings.SECRET_KEY = "old-key-" + "o" * 50
    old_url = make(api, "手机")["url"]

    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "new-key-" + "n" * 50, ["old-key-" + "o" * 50]
    new_url = api.get(LINKS).json()["items"][0]["url"]

    assert new_url != old_url  # shown again: derived under the current key
    assert (fetch(old_url).status_code, fetch(new_url).status_code) == (200, 200)
    settings.SECRET_KEY_FALLBACKS = []
    assert (fetch(old_url).status_code, fetch(new_url).status_code) == (404, 200)


# --- renaming, scope ---------------------------------------------------------------------------------------------


def test_renaming_or_changing_the_scope_keeps_the_address(api):
    made = make(api, "手机")

    renamed = api.patch(f"{LINKS}/{made['id']}", {"name": " 家里的平板 ", "scope": "all"})

    assert renamed.status_code == 200
    body = renamed.json()
    assert (body["name"], body["scope"], body["scope_label"], body["url"]) == (
        "家里的平板", "all", "全部活动 + 我的日程", made["url"])
    assert body["outlook_url"] != made["outlook_url"]  # the calendar's name offered to Outlook follows the link's
    assert fetch(made["url"]).status_code == 200
    assert api.patch(f"{LINKS}/{made['id']}", {}).json()["name"] == "家里的平板"  # nothing given, nothing changed


@pytest.mark.parametrize(("body", "field"), [
    ({"name": ""}, "name"),
    ({"name": "两\n行"}, "name"),
    ({"name": "长" * 65}, "name"),
    ({"scope": "everything"}, "scope"),
    ({"colour": "red"}, "colour"),
])
def test_a_bad_change_is_a_422_naming_the_field(api, body, field):
    made = make(api, "手机")
    response = api.patch(f"{LINKS}/{made['id']}", body)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["detail"]] == [field]
    assert CalendarLink.objects.get().name == "手机"


@pytest.mark.parametrize(("body", "field"), [({}, "name"), ({"name": "  "}, "name"), ({"name": "手机", "scope": 3}, "scope")])
def test_a_bad_new_link_is_a_422_naming_the_field(api, body, field):
    response = api.post(LINKS, body)
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["detail"]] == [field]
    assert CalendarLink.objects.count() == 0


def test_someone_elses_link_is_a_404_to_change_or_revoke(api):
    made = make(api, "手机")
    stranger = api_for(make_user("judge9", Role.JUDGE))
    assert stranger.patch(f"{LINKS}/{made['id']}", {"name": "偷来的"}).status_code == 404
    assert stranger.delete(f"{LINKS}/{made['id']}").status_code == 404
    assert stranger.get(LINKS).json() == {"items": [], "count": 0}
    assert fetch(made["url"]).status_code == 200 and CalendarLink.objects.get().name == "手机"


# --- cap and throttle ---------------------------------------------------------------------------------------------


def test_a_person_holds_at_most_the_cap_and_a_refusal_costs_no_allowance(api, settings):
    settings.CALENDAR_LINKS_PER_USER, settings.CALENDAR_TOKEN_ROTATIONS_PER_HOUR = 3, 5
    made = [make(api, f"设备{i}") for i in range(3)]

    refused = api.post(LINKS, {"name": "第四台"})

    assert refused.status_code == 409
    assert refused.json() == {"detail": "日历订阅链接已达 3 个上限，请先删除不用的链接。", "code": "too_many_links"}
    assert api.delete(f"{LINKS}/{made[0]['id']}").status_code == 204
    assert make(api, "第四台")["name"] == "第四台"
    # 4 made this hour, and the refusal given back: the fifth attempt is the cap's 409, not the allowance's 429.
    assert api.post(LINKS, {"name": "第五台"}).status_code == 409


def test_making_links_is_throttled_per_hour_with_the_page_and_the_old_call(api, judge, settings):
    settings.CALENDAR_TOKEN_ROTATIONS_PER_HOUR = 3
    make(api, "手机")
    assert api.post("/api/v1/me/calendar-token").status_code == 200
    client = Client()
    client.force_login(judge)
    assert client.post("/me/calendar-link", {"name": "平板"}).status_code == 302

    refused = api.post(LINKS, {"name": "第四台"})

    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert sorted(CalendarLink.objects.values_list("name", flat=True)) == ["平板", "手机", "日历订阅"]
    # Renaming and revoking are not throttled.
    link = CalendarLink.objects.get(name="手机")
    assert api.patch(f"{LINKS}/{link.pk}", {"name": "旧手机"}).status_code == 200
    assert api.delete(f"{LINKS}/{link.pk}").status_code == 204


def test_the_list_takes_the_same_queries_for_one_link_or_three(api, judge):
    make(api, "手机")
    with CaptureQueriesContext(connection) as one:
        assert api.get(LINKS).json()["count"] == 1
    make(api, "平板")
    make(api, "办公室")
    with CaptureQueriesContext(connection) as three:
        assert api.get(LINKS).json()["count"] == 3
    assert len(three) == len(one)


# --- the deprecated call -----------------------------------------------------------------------------------------


def test_the_old_call_replaces_only_the_link_named_like_it(api):
    phone = make(api, "手机")
    first = api.post("/api/v1/me/calendar-token").json()
    second = api.post("/api/v1/me/calendar-token").json()

    assert (fetch(first["url"]).status_code, fetch(second["url"]).status_code) == (404, 200)
    assert fetch(phone["url"]).status_code == 200
    assert [item["name"] for item in api.get(LINKS).json()["items"]] == ["手机", "日历订阅"]
    assert second["outlook_url"].startswith("https://outlook.live.com/calendar/0/addfromweb?url=http%3A%2F%2F127")


# --- last fetched --------------------------------------------------------------------------------------------------


def test_last_fetched_is_written_at_most_every_few_minutes(api, settings):
    settings.CALENDAR_LINK_TOUCH_SECONDS = 300
    token = token_of(make(api, "手机")["url"])
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        calendar_link_for_token(token)
        assert CalendarLink.objects.get().last_fetched_at == start
        clock.shift(timedelta(minutes=4))
        with CaptureQueriesContext(connection) as queries:
            for _ in range(3):
                assert calendar_link_for_token(token) is not None
        assert [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")] == []
        assert CalendarLink.objects.get().last_fetched_at == start
        clock.shift(timedelta(minutes=2))
        assert Client().get(f"/calendar/u/{token}.ics").status_code == 200
        assert CalendarLink.objects.get().last_fetched_at == start + timedelta(minutes=6)
        assert api.get(LINKS).json()["items"][0]["last_fetched_at"] is not None


# --- links from before several links -------------------------------------------------------------------------------


def test_a_link_carried_over_from_a_stored_hash_verifies_but_is_not_shown_again(api, judge):
    raw = "fgcal_0123456789ab_" + "s" * 43
    link = CalendarLink.objects.create(user=judge, name="日历订阅", lookup="0123456789ab",
                                       legacy_hash=hashlib.sha256(raw.encode()).hexdigest())

    assert Client().get(f"/calendar/u/{raw}.ics").status_code == 200
    assert Client().get(f"/calendar/u/{raw[:-1]}t.ics").status_code == 404
    listed = api.get(LINKS).json()["items"][0]
    assert (listed["id"], listed["showable"], listed["url"], listed["webcal_url"], listed["outlook_url"]) == (
        link.pk, False, None, None, None)
    client = Client()
    client.force_login(judge)
    page = client.get("/me").content.decode()
    assert "这个链接是更新前生成的：仍然有效，但无法再次显示。" in page and raw not in page


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_each_calendar_token_into_a_link_that_keeps_working():
    from django.db.migrations.executor import MigrationExecutor

    judge = make_user("judge1", Role.JUDGE, display_name="张法官")
    raw = "fgcal_a1b2c3d4e5f6_" + "k" * 43
    before, after = [("accounts", "0004_profile_card_number")], [("accounts", "0005_calendar_links")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    created = timezone.now() - timedelta(days=40)
    old_apps.get_model("accounts", "CalendarToken").objects.create(
        user_id=judge.pk, lookup="a1b2c3d4e5f6", key_hash=hashlib.sha256(raw.encode()).hexdigest())
    old_apps.get_model("accounts", "CalendarToken").objects.update(created_at=created)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)

    link = CalendarLink.objects.get()
    assert (link.user_id, link.name, link.scope, link.lookup, link.showable, link.created_at) == (
        judge.pk, "日历订阅", "mine", "a1b2c3d4e5f6", False, created)
    assert Client().get(f"/calendar/u/{raw}.ics").status_code == 200
