import io
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from stdnum import isbn as stdnum_isbn

from accounts.selectors import user_roles
from core import ratelimit
from events.models import Registration
from library.models import Book, ClosedDay, Contributor, Copy, Hold, Loan, Paper, PaperAuthor
from search_index import laws, searcher
from search_index.services import index_rebuild
from tests.conftest import isolated_settings, wake_dir_for
from web.demo_data import DEMO_ACCOUNTS, DEMO_OVERDUE_LOANS, DEMO_READER_LOANS, DEMO_READERS, PAST_EVENTS

MONGOLIAN_LETTER = re.compile("[\u1820-\u1842]")


def load(**options) -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out, **options)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "books": Book.objects.count(),
        "contributors": Contributor.objects.count(),
        "copies": Copy.objects.count(),
        "papers": Paper.objects.count(),
        "paper_authors": PaperAuthor.objects.count(),
        "paper_files": Paper.objects.exclude(file="").count(),
        "users": User.objects.count(),
        "closed_days": ClosedDay.objects.count(),
        "loans": Loan.objects.count(),
        "holds": Hold.objects.count(),
        "registrations": Registration.objects.count(),
    }


def _files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
            for folder in ("media", "index") for path in (root / folder).rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def loaded_demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, loaded once for this module inside a transaction rolled back at its end (the way
    TestCase.setUpTestData works): each test runs in a savepoint of it, so what one test writes to the database
    the next never sees.  It is loaded under a test's settings (``isolated_settings``) into a directory of the
    module's own, where its paper files are and the search index built from it; yields that directory.

    Files are not rolled back: a test that changed them would change what the next one sees, so they are
    compared at the end (a second load writes none: the papers have their files)."""
    root = tmp_path_factory.mktemp("demo")
    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with (django_db_blocker.unblock(), override_settings(**isolated_settings(root)),
              pytest.MonkeyPatch.context() as patch):
            patch.setattr(tempfile, "tempdir", str(root))  # Whoosh's pools (see tests/conftest.py)
            laws.expire()
            load(quiet=True)
            # Only search reads the index (the tests' writes reach it on commit, which never comes): built once.
            index_rebuild()
            searcher.reset()
        files = _files(root)
        yield root
        assert _files(root) == files, "a test changed the demo's files or index, which the next test sees"
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
        ratelimit.close_stores()
        shutil.rmtree(wake_dir_for(root), ignore_errors=True)


@pytest.fixture
def demo(loaded_demo, db, settings):
    """The demo loaded (once for the module: ``loaded_demo``), its files and index where the test looks."""
    settings.MEDIA_ROOT = str(loaded_demo / "media")
    settings.SEARCH_INDEX_DIR = str(loaded_demo / "index")
    searcher.reset()  # not a searcher cached by an earlier test on another directory
    yield
    searcher.reset()  # nor this one for a later test


def test_demo_loads_a_law_catalog_classed_under_d9(demo):
    clcs = list(Book.objects.values_list("clc", flat=True))

    assert len(clcs) >= 60
    assert [clc for clc in clcs if not clc.startswith("D9")] == []


def test_demo_has_mongolian_script_and_english_titles(demo):
    mongolian = list(Book.objects.filter(language="mn").values_list("title", flat=True))
    english = Book.objects.filter(language="en").count()

    assert len(mongolian) >= 3
    assert [t for t in mongolian if not MONGOLIAN_LETTER.search(t)] == []
    assert english >= 4


def test_demo_isbns_are_valid_and_unique(demo):
    isbns = list(Book.objects.exclude(isbn=None).values_list("isbn", flat=True))

    assert [i for i in isbns if stdnum_isbn.validate(i) != i] == []
    assert len(isbns) == len(set(isbns))
    assert Book.objects.filter(isbn=None).count() >= 1


def test_demo_books_have_translators_and_editors(demo):
    roles = set(Contributor.objects.values_list("role", flat=True))

    assert roles == {"author", "editor", "translator"}


def test_demo_copies_are_at_both_locations_and_mostly_available(demo):
    locations = set(Copy.objects.values_list("location", flat=True))
    statuses = set(Copy.objects.values_list("status", flat=True))
    available = Copy.objects.filter(status=Copy.Status.AVAILABLE).count()

    assert locations == {"院本部", "棋盘井法庭"}
    assert statuses == {"available", "on_loan", "on_pull_list", "repair", "lost"}
    assert available > Copy.objects.count() * 0.9
    assert Book.objects.filter(copies=None).count() == 0


def test_demo_papers_include_the_security_interest_project(demo):
    paper = Paper.objects.get(title="关于担保物权实现程序问题的研究")

    assert Paper.objects.count() >= 10
    assert paper.kind == Paper.Kind.RESEARCH_PROJECT
    assert paper.keywords[:3] == ["担保物权", "实现程序", "非讼程序"]
    assert paper.file_type == "txt"
    assert "特别程序" in paper.full_text
    assert set(Paper.objects.values_list("visibility", flat=True)) == {"public", "internal"}
    assert set(Paper.objects.values_list("kind", flat=True)) == set(Paper.Kind.values)


@pytest.mark.parametrize("account", DEMO_ACCOUNTS, ids=lambda a: a["username"])
def test_demo_user_has_its_roles_and_logs_in_with_its_password(demo, account):
    user = User.objects.select_related("profile").get(username=account["username"])

    assert authenticate(username=account["username"], password=account["password"]) == user
    assert set(user.groups.values_list("name", flat=True)) == set(account["roles"])
    assert user.is_superuser is account["superuser"]
    assert user.profile.display_name == account["display_name"]
    assert user.profile.division == account["division"]


def test_demo_readers_have_example_org_addresses_and_the_judge_chose_text_messages_too(demo):
    from notices.selectors import preferences_get

    users = {u.username: u for u in User.objects.select_related("profile")}

    assert {name: u.email for name, u in users.items()} == {a["username"]: a["email"]
                                                            for a in (*DEMO_ACCOUNTS, *DEMO_READERS)}
    assert all(u.email.endswith("@example.org") for u in users.values())
    judge = preferences_get(user=users["judge"]).channels
    assert (judge["overdue"], judge["hold_ready"], judge["due_soon"]) == (["email", "sms"], ["email", "sms"], ["email"])
    assert users["judge"].profile.phone == "139 0000 0001"
    assert set(map(tuple, preferences_get(user=users["judge2"]).channels.values())) == {("email",)}  # the default


def test_demo_admin_is_a_staff_superuser_with_every_role(demo):
    admin = User.objects.get(username="admin")

    assert (admin.is_superuser, admin.is_staff) == (True, True)
    assert user_roles(admin) == {"judge", "librarian", "organizer", "manager"}


def test_second_load_changes_nothing(demo):
    before = counts()
    password_hashes = dict(User.objects.values_list("username", "password"))

    load(quiet=True)

    assert counts() == before
    assert dict(User.objects.values_list("username", "password")) == password_hashes


def test_load_keeps_a_changed_demo_password(demo):
    judge = User.objects.get(username="judge")
    judge.set_password("my-own-password-1")
    judge.save(update_fields=["password"])

    load(quiet=True)

    assert authenticate(username="judge", password="my-own-password-1") == judge


def test_demo_seeds_this_and_next_years_public_holidays_as_closed_days(demo):
    """Next year's too (its fixed-date holidays until its table is entered): a December demo's events and due
    dates reach into January, and New Year's Day was an open day (routine walk)."""
    from datetime import date

    from library.policy import library_today

    year = library_today().year
    days = set(ClosedDay.objects.filter(date__year=year).values_list("date", flat=True))
    assert date(year, 1, 1) in days and date(year, 10, 1) in days
    if year == 2026:
        assert ClosedDay.objects.get(date=date(2026, 2, 17)).name == "春节"
        assert len(days) == 3 + 9 + 3 + 5 + 3 + 3 + 7
        assert list(ClosedDay.objects.filter(date__year=2027).values_list("date", "name")) == [
            (date(2027, 1, 1), "元旦"), (date(2027, 5, 1), "劳动节"), (date(2027, 5, 2), "劳动节"),
            (date(2027, 10, 1), "国庆节"), (date(2027, 10, 2), "国庆节"), (date(2027, 10, 3), "国庆节")]


def test_demo_events_with_a_moved_and_a_cancelled_occurrence(demo):
    from events.models import Event, Venue

    assert Venue.objects.count() == 3
    talk = Event.objects.get(title="法官茶座")
    assert talk.rrule == "FREQ=MONTHLY;BYDAY=1FR;COUNT=12" and talk.start.astimezone(talk.start.tzinfo).weekday() == 4
    assert sorted(o.status for o in talk.overrides.all()) == ["cancelled", "scheduled"]
    moved = talk.overrides.get(status="scheduled")
    assert (moved.start - moved.recurrence_id).days == 7 and moved.title == "法官茶座（改期）"
    salon = Event.objects.get(title="读者沙龙：民法典与基层审判")
    assert salon.books.count() == 2 and salon.speakers.count() == 2
    seminar = Event.objects.get(title="法学研讨会：担保物权实现程序的司法适用")
    assert "担保物权" in seminar.title and seminar.papers.count() == 1
    assert Event.objects.get(kind="reading").rrule == "FREQ=WEEKLY;BYDAY=WE"


def test_demo_occurrences_show_in_the_api(demo):
    from django.test import Client

    items = Client().get("/api/v1/occurrences", {"to": "2099-01-01T00:00:00Z"})
    assert items.status_code == 422  # more than 400 days
    body = Client().get("/api/v1/occurrences").json()
    kinds = {i["kind"] for i in body["items"]}
    assert {"tea_talk", "reading", "salon", "seminar"} <= kinds


def test_demo_has_circulation_history_returned_and_active_loans_a_hold_and_a_registration(demo):
    """The demo shows a library in use: objects with history (a copy with a returned loan cannot simply be
    deleted), an active loan for each judge, a judge queueing for the other's book, requests on the pull lists
    of both places, a registration."""
    judges = Loan.objects.exclude(patron__username__in=[r["username"] for r in DEMO_READERS])
    returned = sorted(judges.filter(status=Loan.Status.RETURNED).values_list("copy__barcode", "patron__username"))
    active = sorted(judges.filter(status=Loan.Status.ACTIVE).values_list("copy__barcode", "patron__username"))
    holds = sorted(Hold.objects.values_list("patron__username", "copy__barcode", "status", "pickup_location__code"),
                   key=str)

    assert returned == [("FG000001", "judge"), ("FG000002", "judge"), ("FG000003", "judge2")]
    assert active == [("FG000006", "judge"), ("FG000012", "judge2")]
    # A request in the queue; one on the main desk's pull list; one set aside at the tribunal where it is picked up.
    assert holds == [("judge", "FG000008", "pulling", "qpj"), ("judge", None, "waiting", "main"),
                     ("judge2", "FG000004", "pulling", "main")]
    assert [loan.copy.barcode for loan in Loan.objects.filter(status=Loan.Status.RETURNED)
            if not loan.borrowed_at < loan.returned_at < timezone.now()] == []
    upcoming = Registration.objects.exclude(event__title__in=[e["title"] for e in PAST_EVENTS])
    assert list(upcoming.values_list("user__username", "event__title", "status")) == [
        ("judge", "法官茶座", "confirmed")]


def test_second_load_writes_no_more_history(demo):
    loans = list(Loan.objects.order_by("pk").values_list("pk", "status", "returned_at"))

    output = load()

    assert list(Loan.objects.order_by("pk").values_list("pk", "status", "returned_at")) == loans
    assert f"借阅记录：新建   0，已存在  {5 + len(DEMO_READER_LOANS) + len(DEMO_OVERDUE_LOANS)}" in output


def test_the_demo_catalogues_misheard_queries_show_their_corrections_results(demo, client):
    """Issue 19 §3 on the demo catalogue, through the search page: the three misheard queries of the issue (and
    their traditional and full-width forms) list the correction's works first, say so in plain words, and link
    to the words as typed."""
    cases = {"担保无权": ("担保物权", "<mark>担保物权</mark>研究"),
             "擔保無權": ("担保物权", "<mark>担保物权</mark>研究"),  # traditional characters
             "王利名": ("王利明", "民法总则研究"),
             "王利名　": ("王利明", "民法总则研究"),  # a full-width space after it
             "执型": ("执行", "<mark>执行</mark>"),
             "執型": ("执行", "<mark>执行</mark>")}
    seen = {}
    for query, (shown, _first) in cases.items():
        page = client.get("/", {"q": query}).content.decode()
        first = page[page.index('<ol class="results">'):].split("</li>")[0]
        seen[query] = (f"已显示“{shown}”的结果。" in page, f"仍要搜索“{query}”？" in page, _first in first,
                       'id="next-step"' in page or 'id="suggestion"' in page)

    assert seen == dict.fromkeys(cases, (True, True, True, False))


def test_the_demo_catalogue_answers_a_citation_of_the_civil_code_with_the_article_highlighted(demo, client):
    """Routine walk (issue 19): no demo record cited an article of the 民法典, so the citation search showed
    nothing in the demo.  A paper cites 《民法典》第三百九十四条 in its abstract: every written form of the citation
    finds it, the page says it searched the article and marks the citation as the paper writes it."""
    paper = Paper.objects.get(title="流押条款的效力与抵押权的实现——以民法典第四百零一条为中心")

    for query in ("民法典第394条", "《民法典》第三百九十四条", "民法典394"):
        page = client.get("/", {"q": query}).content.decode()
        results = page[page.index('<ol class="results">'):page.index("</ol>", page.index('<ol class="results">'))]
        assert f'href="/papers/{paper.pk}"' in results, query
        assert "已按条文检索：民法典 第 394 条（引用该条的作品）" in page
        assert "<mark>《民法典》第三百九十四条</mark>" in results
    assert paper.visibility == Paper.Visibility.PUBLIC


def _reader_loans() -> list[tuple]:
    """The history readers' past loans (not the two still out: DEMO_OVERDUE_LOANS)."""
    still_out = {(reader, barcode) for reader, barcode, _days in DEMO_OVERDUE_LOANS}
    return sorted((row for row in Loan.objects.filter(patron__username__in=[r["username"] for r in DEMO_READERS])
                   .values_list("patron__username", "copy__barcode", "status", "borrowed_at", "returned_at")
                   if row[:2] not in still_out), key=lambda row: row[3])


def test_demo_book_pages_show_books_borrowed_together_by_at_least_three_readers(demo):
    """The history's readers borrowed a cluster of security-interest books over past months, all returned, no
    copy twice at once; the 物权编 commentary's page lists under 借过本书的读者也借过 the book of another class three of
    its readers borrowed (the two of its own class they borrowed are under 同类图书, once), not the one two of
    them borrowed nor the one one of them did, and names no reader."""
    from django.test import Client

    loans = _reader_loans()
    assert [(name, barcode) for name, barcode, *_ in loans] == [(r, b) for r, b, _, _ in DEMO_READER_LOANS]
    assert {status for _, _, status, _, _ in loans} == {"returned"}
    now = timezone.now()
    assert [row for row in loans if not row[3] < row[4] < now] == []
    last_returned: dict[str, object] = {}
    overlapping = []
    for _, barcode, _, borrowed, returned in loans:  # in order of borrowing
        if barcode in last_returned and borrowed < last_returned[barcode]:
            overlapping.append(barcode)
        last_returned[barcode] = returned
    assert overlapping == []
    assert not Copy.objects.filter(barcode__in=last_returned).exclude(status=Copy.Status.AVAILABLE).exists()

    book = Book.objects.get(title="中华人民共和国民法典物权编理解与适用")
    page = Client().get(f"/books/{book.pk}").content.decode()
    def listed(section_id: str) -> list[str]:
        section = page[page.index(f'id="{section_id}"'):]
        return re.findall(r'<li><a href="[^"]+">([^<]+)</a>', section[:section.index("</ul>")])

    # Three readers borrowed 民法物权 and 担保物权研究 too, but they share its class: listed there, once.
    assert listed("related-class")[:2] == ["民法物权", "担保物权研究"]
    assert listed("related-borrowed") == ["最高人民法院民事诉讼法司法解释理解与适用"]
    assert "最高人民法院关于人民法院办理执行异议和复议案件若干问题规定理解与适用" not in page  # two readers only
    assert "借过本书的读者也借过" in page and "只列出至少 3 位读者都借过的书" in page
    assert all(r["display_name"] not in page and r["username"] not in page for r in DEMO_READERS)


def test_the_demo_reports_have_overdue_loans_to_chase_and_held_sessions_to_count(demo):
    """The reports a librarian, an organizer and the leadership open on the demo are not empty: two history readers'
    loans are overdue (none of the demo accounts', who could then not borrow), and three events already held
    have registrations, a waitlist that moved up, a walk-in and check-ins."""
    from reports.filters import FilterForm
    from reports.registry import REPORTS

    def rows(slug: str, key: str) -> list[list]:
        form = FilterForm({})
        assert form.is_valid(), form.errors
        return next(t for t in REPORTS[slug].tables(form.report_filter()) if t.key == key).rows

    overdue = Loan.objects.filter(status=Loan.Status.ACTIVE, due_date__lt=timezone.localdate())
    assert sorted(overdue.values_list("patron__username", "copy__barcode")) == [
        ("reader_liu", "FG000025"), ("reader_zhou", "FG000021")]
    assert rows("overdue", "buckets") == [["1–7 天", 0, 0], ["8–30 天", 1, 1], ["31 天以上", 1, 1], ["合计", 2, 2]]
    # Session, event, kind, seats, confirmed, waitlisted, check-ins, fill, turnout (the seminar takes its
    # venue's 80 seats; the tea talk's third session had a walk-in).
    assert [row[1:] for row in rows("event-attendance", "sessions")] == [
        ["法官茶座（秋季）", "法官茶座", 12, 2, 0, 2, 16.7, 100.0],
        ["法官茶座（秋季）", "法官茶座", 12, 3, 0, 2, 25.0, 66.7],
        ["读者沙龙：担保制度司法解释", "读者沙龙", 3, 3, 1, 3, 100.0, 100.0],
        ["法官茶座（秋季）", "法官茶座", 12, 3, 0, 2, 25.0, 66.7],
        ["法学研讨会：执行异议之诉", "法学研讨会", 80, 7, 0, 5, 8.8, 71.4]]
    assert rows("event-waitlist", "kinds") == [["读者沙龙", 2, 1, 1, 0, 50.0]]
    # Nobody is told today about registering for, or moving up to, sessions weeks past.
    from notices.models import Notice

    past = Registration.objects.filter(event__title__in=[e["title"] for e in PAST_EVENTS])
    assert past.count() == 16  # 5 + 3 + the walk-in + 7
    assert not Notice.objects.filter(about__in=[f"registration:{pk}" for pk in past.values_list("pk", flat=True)]).exists()
    assert load().count("活动：新建   0") == 1


def test_demo_papers_were_downloaded_so_the_papers_report_and_a_judges_year_show_them(demo):
    """The demo's downloads (DEMO_PAPER_DOWNLOADS) are written once, and 调研成果下载排行 over the last year ranks
    the security-interest paper first (four readers), as the demo data says."""
    from library.models import PaperDownload
    from library.policy import library_today
    from reports.filters import FilterForm
    from reports.reader_reports import reading_year
    from reports.registry import REPORTS
    from web.demo_data import DEMO_PAPER_DOWNLOADS

    assert PaperDownload.objects.count() == len(DEMO_PAPER_DOWNLOADS)
    assert "全文下载：新建   0，已存在   8" in load()
    assert PaperDownload.objects.count() == len(DEMO_PAPER_DOWNLOADS)

    today = library_today()
    form = FilterForm({"from": (today - timezone.timedelta(days=364)).isoformat(), "to": today.isoformat()})
    assert form.is_valid(), form.errors
    top = {t.key: t for t in REPORTS["top-papers"].tables(form.report_filter())}
    ranked = [(row[1], row[4], row[5]) for row in next(iter(top.values())).rows]
    assert ranked[:3] == [("关于担保物权实现程序问题的研究", 4, 4),
                          ("流押条款的效力与抵押权的实现——以民法典第四百零一条为中心", 2, 2),
                          ("基层法院破解“执行难”的实践路径——以鄂尔多斯地区为样本", 1, 1)]
    # The judge's own year (of their downloads 30 and 20 days ago) lists both papers.
    year = (timezone.now() - timezone.timedelta(days=20)).year
    mine = {t.key: t for t in reading_year(User.objects.get(username="judge"), year, today)}
    assert sorted(row[0] for row in mine["papers"].rows if row[2]) == [
        "关于担保物权实现程序问题的研究", "流押条款的效力与抵押权的实现——以民法典第四百零一条为中心"][
        (timezone.now() - timezone.timedelta(days=30)).year != year:]
