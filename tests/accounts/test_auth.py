"""Tokens, sessions with CSRF, password login with throttling, and the role commands."""

import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone, translation

from accounts.models import ApiToken, FailedLogin, Role, hash_token
from accounts.services import token_issue, token_revoke
from tests.conftest import ApiClient, make_user

pytestmark = pytest.mark.django_db


def test_token_is_stored_only_as_hash(judge):
    issued = token_issue(user=judge, name="phone")
    row = ApiToken.objects.get()
    assert issued.raw.startswith(f"fgsy_{row.lookup}_")
    assert row.key_hash == hash_token(issued.raw)
    assert issued.raw not in {row.lookup, row.key_hash, row.name}
    assert len(issued.raw.split("_", 2)[2]) >= 43  # 32 random bytes, base64url


def test_bearer_token_authenticates_and_records_use(judge):
    issued = token_issue(user=judge)
    response = ApiClient(issued.raw).get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {"username": "judge1", "display_name": "张法官", "division": "民事审判庭", "email": "",
                               "phone": "", "roles": ["judge"], "is_superuser": False}
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer nonsense", "Bearer fgsy_000000000000_abc", "Token abc", "Bearer ", "Basic dXNlcjpwYXNz"],
)
def test_bad_credentials_are_401_even_on_public_endpoints(judge, header):
    issued = token_issue(user=judge)
    tampered = issued.raw[:-2] + ("AA" if not issued.raw.endswith("AA") else "BB")
    for value in (header, f"Bearer {tampered}"):
        response = Client().get("/api/v1/books", headers={"Authorization": value})
        assert response.status_code == 401
        assert response.json()["code"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_stops_working_at_once(judge):
    issued = token_issue(user=judge)
    client = ApiClient(issued.raw)
    assert client.get("/api/v1/me").status_code == 200
    token_revoke(token=issued.token)
    assert client.get("/api/v1/me").status_code == 401


def test_token_of_deactivated_user_is_refused(judge):
    issued = token_issue(user=judge)
    User.objects.filter(pk=judge.pk).update(is_active=False)
    assert ApiClient(issued.raw).get("/api/v1/me").status_code == 401


def test_user_lists_and_revokes_own_tokens_only(judge, librarian):
    mine = token_issue(user=judge, name="laptop")
    other = token_issue(user=librarian, name="desk")
    client = ApiClient(mine.raw)
    listed = client.get("/api/v1/me/tokens").json()
    assert (listed["count"], listed["items"][0]["name"]) == (1, "laptop")
    assert "key_hash" not in listed["items"][0]
    assert client.delete(f"/api/v1/me/tokens/{other.token.pk}").status_code == 404
    assert ApiClient(other.raw).get("/api/v1/me").status_code == 200
    assert client.delete(f"/api/v1/me/tokens/{mine.token.pk}").status_code == 204
    assert client.get("/api/v1/me").status_code == 401


def test_me_needs_credentials(anon_api):
    assert anon_api.get("/api/v1/me").status_code == 401


# --- password → token -------------------------------------------------------------


def test_password_login_returns_a_working_token(judge):
    response = ApiClient().post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"})
    assert response.status_code == 200
    token = response.json()["token"]
    assert ApiClient(token).get("/api/v1/me").json()["username"] == "judge1"


@pytest.mark.parametrize(("username", "password"), [("judge1", "wrong"), ("nobody", "secret-pass-1")])
def test_wrong_credentials_are_401_and_issue_nothing(judge, username, password):
    response = ApiClient().post("/api/v1/auth/token", {"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize("payload", [{}, {"username": "judge1"}, {"username": "", "password": "x"},
                                     {"username": "judge1", "password": "x", "admin": True}])
def test_malformed_login_is_422(payload):
    response = ApiClient().post("/api/v1/auth/token", payload)
    assert (response.status_code, response.json()["code"]) == (422, "invalid")


def test_repeated_failures_are_throttled_then_released(settings, judge):
    settings.LOGIN_MAX_FAILURES = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    client = ApiClient()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(3):
            assert client.post("/api/v1/auth/token", {"username": "judge1", "password": "bad"}).status_code == 401
        # Even the right password is refused while locked out.
        locked = client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"})
        assert locked.status_code == 429
        assert locked.json()["code"] == "throttled"
        assert int(locked["Retry-After"]) == 601
        clock.shift(timedelta(seconds=601))
        assert client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"}).status_code == 200
    assert FailedLogin.objects.filter(username="judge1").count() == 0


def test_throttle_also_counts_per_address(settings, judge):
    settings.LOGIN_MAX_FAILURES = 10
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    client = ApiClient()
    for name in ("a", "b"):
        assert client.post("/api/v1/auth/token", {"username": name, "password": "bad"}).status_code == 401
    response = client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"})
    assert response.status_code == 429
    assert response.json()["detail"].startswith("尝试次数过多")


def test_address_behind_trusted_proxies_is_taken_from_x_forwarded_for(settings, judge):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 1
    client = ApiClient()
    client.post("/api/v1/auth/token", {"username": "x", "password": "bad"}, headers={"X-Forwarded-For": "10.0.0.7"})
    assert FailedLogin.objects.get().ip == "10.0.0.7"
    # Another client behind the same proxy is not locked out by the first one.
    other = client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"},
                        headers={"X-Forwarded-For": "10.0.0.8"})
    assert other.status_code == 200


def test_one_ipv6_network_shares_the_address_limit(settings, judge):
    """The twelfth attack: failures were counted per full IPv6 address, so one /64 had endless guesses."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    client = ApiClient()
    statuses = [client.post("/api/v1/auth/token", {"username": f"x{i}", "password": "bad"},
                            headers={"X-Forwarded-For": f"2001:db8:7:7::{i + 1}"}).status_code for i in range(3)]
    other_network = client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"},
                                headers={"X-Forwarded-For": "2001:db8:7:8::1"})

    assert (statuses, other_network.status_code) == ([401, 401, 429], 200)
    assert set(FailedLogin.objects.values_list("ip", flat=True)) == {"2001:db8:7:7::"}


def test_successful_logins_count_too(settings, judge):
    """The twelfth attack: six loops of correct logins held the workers (each password check costs about
    half a second) while only failures were counted."""
    settings.LOGIN_ATTEMPTS_PER_USERNAME = 3
    client = ApiClient()
    statuses = [client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"}).status_code
                for _ in range(4)]
    refused = client.post("/api/v1/auth/token", {"username": "JUDGE1", "password": "secret-pass-1"})

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    settings.LOGIN_ATTEMPTS_PER_ADDRESS, settings.LOGIN_ATTEMPTS_PER_USERNAME = 4, 100
    from_one_address = [client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"})
                        .status_code for _ in range(2)]
    # The three checked attempts counted for 127.0.0.1 (the refused ones stopped at the username's limit).
    assert from_one_address == [200, 429]


def test_a_person_holds_at_most_api_tokens_per_user_live_tokens(settings, judge):
    settings.API_TOKENS_PER_USER = 3
    issued = [token_issue(user=judge, name=f"t{i}") for i in range(3)]
    ApiClient(issued[0].raw).get("/api/v1/me")  # t0 is in use; t1 was never used and is the oldest idle one
    fourth = token_issue(user=judge, name="t3")

    live = set(ApiToken.objects.filter(revoked_at__isnull=True).values_list("name", flat=True))
    assert live == {"t0", "t2", "t3"}
    assert ApiClient(issued[1].raw).get("/api/v1/me").status_code == 401
    assert ApiClient(fourth.raw).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize("forwarded", ["not-an-ip", "", "1.2.3.4.5", "\u0000"])
def test_garbage_x_forwarded_for_is_ignored(settings, judge, forwarded):
    settings.TRUSTED_PROXY_COUNT = 1
    response = ApiClient().post("/api/v1/auth/token", {"username": "judge1", "password": "bad"},
                                headers={"X-Forwarded-For": forwarded})
    assert response.status_code == 401
    assert FailedLogin.objects.get().ip in (None, "127.0.0.1")


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_cannot_slip_under_the_limit(settings):
    """20 simultaneous wrong passwords with a limit of 5: exactly 5 are checked, 15 are refused."""
    import threading

    from django.db import connection

    settings.LOGIN_MAX_FAILURES = 5
    make_user("target", Role.JUDGE)
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def guess() -> None:
        try:
            barrier.wait()
            statuses.append(ApiClient().post("/api/v1/auth/token", {"username": "target", "password": "guess"}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * 5 + [429] * 15


# --- sessions and CSRF (through the real middleware) --------------------------------


def _session_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.get("/admin/login/")  # the login form sets the csrftoken cookie
    client.force_login(user)
    return client


def test_session_reads_without_csrf_but_writes_need_it(librarian):
    client = _session_client(librarian)
    assert client.get("/api/v1/me").json()["username"] == "librarian1"
    refused = client.post("/api/v1/books", {"title": "无 CSRF"}, content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/books", {"title": "有 CSRF"}, content_type="application/json",
                           headers={"X-CSRFToken": token})
    assert accepted.status_code == 201


def test_session_without_role_is_403_not_401(judge):
    from library.models import Book

    client = _session_client(judge)
    response = client.post("/api/v1/books", {"title": "x"}, content_type="application/json",
                           headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert not Book.objects.exists()


def test_token_login_endpoint_needs_no_csrf(judge):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/auth/token", {"username": "judge1", "password": "secret-pass-1"},
                           content_type="application/json")
    assert response.status_code == 200
    assert ApiClient(response.json()["token"]).get("/api/v1/me").json()["username"] == "judge1"


# --- roles and commands ------------------------------------------------------------


def test_role_groups_exist_with_admin_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    librarian_perms = set(Group.objects.get(name="librarian").permissions.values_list("codename", flat=True))
    assert {"add_book", "change_book", "delete_copy", "change_paper"} <= librarian_perms
    assert not Group.objects.get(name="judge").permissions.exists()


def test_adduser_creates_then_updates(capsys):
    call_command("adduser", "wang", "--role", "judge", "--role", "organizer", "--password", "Grassland-2026",
                 "--name", "王法官", "--division", "棋盘井法庭", "--email", "wang@court.example")
    user = User.objects.get(username="wang")
    assert sorted(user.groups.values_list("name", flat=True)) == ["judge", "organizer"]
    assert (user.profile.display_name, user.profile.division, user.email) == ("王法官", "棋盘井法庭", "wang@court.example")
    assert user.check_password("Grassland-2026") and user.is_staff
    call_command("adduser", "wang", "--role", "librarian")
    user.refresh_from_db()
    assert list(user.groups.values_list("name", flat=True)) == ["librarian"]
    assert user.profile.display_name == "王法官"
    assert user.check_password("Grassland-2026")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--password", "123"], "too short"),
        (["x", "--email", "not-an-email"], "email"),
        (["bad name!", "--role", "judge"], "username"),
    ],
)
def test_adduser_reports_bad_input_readably(args, message):
    with pytest.raises(CommandError) as info:
        call_command("adduser", *args)
    assert message in str(info.value).lower() or message in str(info.value)
    assert not User.objects.exists()


def test_adduser_rejects_unknown_role():
    with pytest.raises(CommandError):
        call_command("adduser", "x", "--role", "janitor")


def test_issuetoken_prints_only_the_token():
    make_user("li", Role.LIBRARIAN)
    out = io.StringIO()
    call_command("issuetoken", "li", stdout=out)
    raw = out.getvalue()
    assert raw.endswith("\n") and raw.count("\n") == 1
    assert ApiClient(raw.strip()).get("/api/v1/me").json()["roles"] == ["librarian"]


def test_issuetoken_for_unknown_user_fails_readably():
    with pytest.raises(CommandError, match="不存在"):
        call_command("issuetoken", "ghost")


def test_command_messages_are_chinese_by_default_and_english_when_english_is_active():
    """Commands run with the default language; one run inside an English context speaks English."""
    with pytest.raises(CommandError) as zh:
        call_command("issuetoken", "ghost")
    with translation.override("en"), pytest.raises(CommandError) as en:
        call_command("issuetoken", "ghost")
    assert (str(zh.value), str(en.value)) == ("用户 ghost 不存在", "No such user: ghost")

    out = io.StringIO()
    call_command("adduser", "wang", "--role", "judge", stdout=out)
    with translation.override("en"):
        call_command("adduser", "wang", "--role", "judge", stdout=out)
    assert out.getvalue() == "已创建用户 wang（角色：judge）\nUpdated user wang (roles: judge)\n"


EN = {"Accept-Language": "en"}


def test_authentication_messages_follow_accept_language(judge):
    wrong = {"username": "judge1", "password": "wrong"}

    zh = ApiClient().post("/api/v1/auth/token", wrong)
    en = ApiClient().post("/api/v1/auth/token", wrong, headers=EN)

    assert (zh.status_code, zh.json()) == (401, {"detail": "用户名或密码错误", "code": "unauthorized"})
    assert (en.status_code, en.json()) == (401, {"detail": "Wrong username or password", "code": "unauthorized"})
    revoked = ApiClient(token_issue(user=judge).raw)
    token_revoke(token=ApiToken.objects.get(user=judge))
    assert revoked.get("/api/v1/me", headers=EN).json() == {"detail": "Invalid or revoked token", "code": "unauthorized"}
    assert revoked.get("/api/v1/me").json() == {"detail": "令牌无效或已吊销", "code": "unauthorized"}


def test_librarian_can_use_the_admin_but_judge_cannot():
    librarian = make_user("li", Role.LIBRARIAN)
    judge = make_user("ju", Role.JUDGE)
    client = Client()
    client.force_login(librarian)
    assert client.get("/admin/library/book/").status_code == 200
    client.force_login(judge)
    assert client.get("/admin/library/book/").status_code == 302


@pytest.mark.parametrize("count", [1, 3])
def test_token_list_query_count_does_not_grow(judge, count):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    tokens = [token_issue(user=judge, name=f"t{i}") for i in range(count)]
    client = ApiClient(tokens[0].raw)
    client.get("/api/v1/me")  # records last_used_at once, outside the measured request
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/me/tokens").json()["count"] == count
    assert len(queries) == 3  # token lookup (joined with its user), count, page


def test_a_display_name_is_one_line(db):
    from django.core.exceptions import ValidationError

    from accounts.services import user_upsert

    with pytest.raises(ValidationError) as refused:
        user_upsert(username="judge7", display_name="张\r\n法官", validate=False)
    assert list(refused.value.message_dict) == ["display_name"]


@pytest.mark.parametrize("option, field", [("--name", "display_name"), ("--division", "division")])
def test_adduser_refuses_a_name_on_two_lines_and_creates_nobody(db, option, field):
    with pytest.raises(CommandError) as refused:
        call_command("adduser", "judge8", option, "张\r\n法官", stdout=io.StringIO())

    assert str(refused.value).startswith(f"{field}: ")
    assert not User.objects.filter(username="judge8").exists()


def test_user_admin_refuses_a_display_name_on_two_lines_naming_the_field(db, judge):
    from tests.admin_forms import admin_form_data

    client = Client()
    client.force_login(User.objects.create_superuser("root", password="secret-pass-1"))
    url = f"/admin/auth/user/{judge.pk}/change/"
    form = admin_form_data(client, url)
    form["profile-0-display_name"] = ["张\n法官"]

    response = client.post(url, form)

    assert response.status_code == 200
    errors = [e for formset in response.context["inline_admin_formsets"] for e in formset.formset.errors if e]
    assert errors == [{"display_name": ["须为单行文字，不能包含换行或控制字符"]}]
