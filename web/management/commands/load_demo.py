"""``manage.py load_demo``: the demo catalog, papers and one login per role.

Run by ``make run`` on every start, so it is idempotent: books are matched by
ISBN (by title when they have none), copies by barcode, papers by title and
users by username.  Whatever already exists is left exactly as it is, so a
second run writes nothing; in particular a demo user whose password was
changed keeps the new password.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext

from accounts.models import Role
from accounts.services import user_upsert
from core.commands import BaseCommand
from library.models import Book, Channel, ClosedDay, Copy, Location, Paper
from library.policy import library_today
from library.services import Person, book_create, copy_create, paper_attach_file, paper_create
from notices.services import preference_update
from web import demo_data


@dataclass
class Tally:
    created: int = 0
    existing: int = 0

    def add(self, created: bool) -> None:
        if created:
            self.created += 1
        else:
            self.existing += 1


@dataclass
class Report:
    accounts: list[tuple[dict, bool]]
    users: Tally
    books: Tally
    copies: Tally
    papers: Tally
    files: int
    closed_days: Tally
    events: Tally
    history: Tally
    registrations: Tally
    downloads: Tally


def _first_start(spec: dict, today: date) -> datetime:
    hour, minute = (int(x) for x in spec["time"].split(":"))
    if spec["start"] == "first_friday":
        day = _first_friday(today.year, today.month)
        if day < today:
            nxt = today.replace(day=28) + timedelta(days=4)
            day = _first_friday(nxt.year, nxt.month)
    elif spec["start"] == "next_wednesday":
        day = today + timedelta(days=(2 - today.weekday()) % 7 or 7)
    else:
        day = today + timedelta(days=spec["start"])
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_current_timezone())


def _first_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7)


def load_events(*, organizer: User | None) -> Tally:
    """Venues and the demo events (matched by title), with one moved and one cancelled occurrence."""
    from events import services as event_services
    from events.models import Event, Venue
    from events.recurrence import occurrences

    tally = Tally()
    for spec in demo_data.VENUES:
        Venue.objects.get_or_create(name=spec["name"], defaults={"location": spec["location"],
                                                                  "capacity": spec["capacity"]})
    if organizer is None:
        return tally
    existing = set(Event.objects.filter(title__in=[e["title"] for e in demo_data.EVENTS]).values_list("title", flat=True))
    today = library_today()
    for spec in demo_data.EVENTS:
        tally.add(spec["title"] not in existing)
        if spec["title"] in existing:
            continue
        start = _first_start(spec, today)
        venue = Venue.objects.get(name=spec["venue"])
        data = event_services.EventData(
            title=spec["title"], kind=spec["kind"], description=spec["description"], start=start,
            end=start + timedelta(minutes=spec["minutes"]), venue=venue.pk, capacity=spec.get("capacity"),
            rrule=spec.get("rrule", ""),
            books=list(Book.objects.filter(title__in=spec.get("books", [])).values_list("pk", flat=True)),
            papers=list(Paper.objects.filter(title__in=spec.get("papers", [])).values_list("pk", flat=True)),
            speakers=[event_services.SpeakerData(name=n, role=r) for n, r in spec.get("speakers", [])],
        )
        event = event_services.event_create(data=data, actor=organizer, force=True)
        series = [o.recurrence_id for o in occurrences(event, start, start + timedelta(days=400), overrides=[])]
        if "move" in spec:
            rid = series[spec["move"]["index"]]
            event_services.override_set(
                event=event, actor=organizer, recurrence_id=rid, force=True,
                changes={"start": rid + timedelta(days=spec["move"]["days"]), "title": spec["move"]["title"]},
            )
        if "cancel" in spec:
            event_services.event_cancel(event=event, actor=organizer, occurrence=series[spec["cancel"]["index"]],
                                        reason=spec["cancel"]["reason"])
    return tally


def load_past_events(*, organizer: User | None) -> Tally:
    """The sessions already held (``demo_data.PAST_EVENTS``), each written once (matched by title) with its
    registrations, cancellations and check-ins at their past times, through the events services (so the
    waitlist moves up as it would have).  The notices those registrations recorded ("报名成功", "候补转正") are
    dropped before they are sent: they would reach the readers now, about sessions weeks past."""
    from events import services as event_services
    from events.models import Event, Venue
    from events.recurrence import occurrences
    from notices.models import Notice

    tally = Tally()
    if organizer is None:
        return tally
    people = User.objects.in_bulk([name.lstrip("+") for spec in demo_data.PAST_EVENTS
                                   for name in [*(r[0] for r in spec["registrations"]),
                                                *(n for session in spec["check_ins"] for n in session)]],
                                  field_name="username")
    existing = set(Event.objects.filter(title__in=[e["title"] for e in demo_data.PAST_EVENTS])
                   .values_list("title", flat=True))
    today = library_today()
    for spec in demo_data.PAST_EVENTS:
        tally.add(spec["title"] not in existing)
        if spec["title"] in existing:
            continue
        start = _first_start({**spec, "start": -spec["ago"]}, today)
        data = event_services.EventData(
            title=spec["title"], kind=spec["kind"], description=spec["description"], start=start,
            end=start + timedelta(minutes=spec["minutes"]), venue=Venue.objects.get(name=spec["venue"]).pk,
            capacity=spec.get("capacity"), rrule=spec.get("rrule", ""),
            books=list(Book.objects.filter(title__in=spec.get("books", [])).values_list("pk", flat=True)),
        )
        event = event_services.event_create(data=data, actor=organizer, force=True)
        sessions = ([o.recurrence_id for o in occurrences(event, start, start + timedelta(days=400), overrides=[])]
                    if event.rrule else [None])
        registrations = {}
        for username, before, index in spec["registrations"]:
            if username in people:
                registrations[username] = event_services.registration_create(
                    event=event, user=people[username], occurrence=None if index is None else sessions[index],
                    now=start - timedelta(days=before))
        for username in spec.get("cancel", ()):
            if username in registrations:
                event_services.registration_cancel(registration=registrations[username],
                                                   now=start - timedelta(days=4))
        for session, names in zip(sessions, spec["check_ins"], strict=True):
            at = session or start
            for name in names:
                if name.lstrip("+") in people:
                    event_services.check_in(event=event, user=people[name.lstrip("+")], occurrence=session,
                                            actor=organizer, walk_in=name.startswith("+"),
                                            now=at + timedelta(minutes=5))
        Notice.objects.filter(about__in=[f"registration:{pk}" for pk in
                                         event.registrations.values_list("pk", flat=True)]).delete()
    return tally


#: A little circulation history, written once into a library that has lent nothing yet, so that the demo has
#: returned loans, an active loan, a waiting hold and a registration: (barcode, patron, borrowed days ago,
#: returned days ago or None for a loan still out).
HISTORY_LOANS = (
    ("FG000001", "judge", 75, 52),
    ("FG000002", "judge", 40, 21),
    ("FG000003", "judge2", 33, 12),
    ("FG000006", "judge", 6, None),
    ("FG000012", "judge2", 9, None),
)
#: (patron, barcode of a copy whose book they request, pickup location code): a request in the queue, one
#: on the main desk's pull list for the reader at home, one that will go by van to the tribunal.
HISTORY_HOLDS = (("judge", "FG000012", "main"), ("judge2", "FG000004", "main"), ("judge", "FG000007", "qpj"))


def load_history() -> Tally:
    """Past and current loans, a hold and a registration, written only when no loan exists yet."""
    from library.circulation import hold_place, loan_checkout, loan_return
    from library.models import Loan

    tally = Tally()
    if Loan.objects.exists():
        # The history readers' loans are counted by load_reader_history.
        readers = [r["username"] for r in demo_data.DEMO_READERS]
        tally.existing = Loan.objects.exclude(patron__username__in=readers).count()
        return tally
    users = User.objects.in_bulk([p for _, p, _, _ in HISTORY_LOANS] + [p for p, _, _ in HISTORY_HOLDS],
                                 field_name="username")
    copies = Copy.objects.select_related("book").in_bulk(
        [b for b, _, _, _ in HISTORY_LOANS] + [b for _, b, _ in HISTORY_HOLDS], field_name="barcode")
    now = timezone.now()
    for barcode, username, borrowed, returned in HISTORY_LOANS:
        if username not in users or barcode not in copies:
            continue
        loan = loan_checkout(patron=users[username], actor=users[username], copy=copies[barcode],
                             now=now - timedelta(days=borrowed), channel=Channel.COMMAND)
        if returned is not None:
            loan_return(loan=loan, actor=None, now=now - timedelta(days=returned), channel=Channel.COMMAND)
        tally.add(True)
    for username, barcode, pickup in HISTORY_HOLDS:
        if username in users and barcode in copies:
            hold_place(patron=users[username], book=copies[barcode].book, actor=users[username],
                       pickup_location=Location.objects.get(code=pickup), now=now - timedelta(days=2))
            tally.add(True)
    return tally


def load_readers() -> Tally:
    """The readers of the loan history (``demo_data.DEMO_READERS``): created when missing, no password."""
    tally = Tally()
    existing = set(User.objects.filter(username__in=[r["username"] for r in demo_data.DEMO_READERS])
                   .values_list("username", flat=True))
    for reader in demo_data.DEMO_READERS:
        created = reader["username"] not in existing
        if created:
            user_upsert(username=reader["username"], roles=[Role.JUDGE], email=reader["email"],
                        display_name=reader["display_name"], division=reader["division"],
                        card_number=reader["card_number"], validate=False)
        tally.add(created)
    return tally


def load_reader_history() -> Tally:
    """The returned loans of the history's readers (``demo_data.DEMO_READER_LOANS``), written for each reader
    who has no loan yet, so a second run writes nothing and a demo database made before they existed gets
    them too.  Their books have no holds: returning a copy puts it back on the shelf and no one's hold
    moves."""
    from library.circulation import loan_checkout, loan_return
    from library.models import Loan

    tally = Tally()
    readers = User.objects.in_bulk([r["username"] for r in demo_data.DEMO_READERS], field_name="username")
    lent = set(Loan.objects.filter(patron__in=readers.values()).values_list("patron__username", flat=True))
    tally.existing = Loan.objects.filter(patron__username__in=lent).count()
    copies = Copy.objects.in_bulk([barcode for _, barcode, _, _ in demo_data.DEMO_READER_LOANS], field_name="barcode")
    now = timezone.now()
    for username, barcode, borrowed, returned in demo_data.DEMO_READER_LOANS:
        if username not in readers or barcode not in copies or username in lent:
            continue
        reader = readers[username]
        loan = loan_checkout(patron=reader, actor=reader, copy=copies[barcode], now=now - timedelta(days=borrowed),
                             channel=Channel.COMMAND)
        loan_return(loan=loan, actor=None, now=now - timedelta(days=returned), channel=Channel.COMMAND)
        tally.add(True)
    return tally


def load_overdue_loans() -> Tally:
    """The history readers' loans still out and overdue (``demo_data.DEMO_OVERDUE_LOANS``), each written once:
    skipped when the reader has borrowed that copy already (then counted among the readers' loans by
    ``load_reader_history``)."""
    from library.circulation import loan_checkout
    from library.models import Loan

    tally = Tally()
    readers = User.objects.in_bulk([r for r, _b, _d in demo_data.DEMO_OVERDUE_LOANS], field_name="username")
    copies = Copy.objects.in_bulk([b for _r, b, _d in demo_data.DEMO_OVERDUE_LOANS], field_name="barcode")
    now = timezone.now()
    for username, barcode, borrowed in demo_data.DEMO_OVERDUE_LOANS:
        if username not in readers or barcode not in copies:
            continue
        if Loan.objects.filter(patron=readers[username], copy=copies[barcode]).exists():
            continue
        if copies[barcode].status == Copy.Status.AVAILABLE:
            loan_checkout(patron=readers[username], actor=readers[username], copy=copies[barcode],
                          now=now - timedelta(days=borrowed), channel=Channel.COMMAND)
            tally.add(True)
    return tally


def load_downloads() -> Tally:
    """The papers' full-text downloads of ``demo_data.DEMO_PAPER_DOWNLOADS``, written only when none is recorded."""
    from library.models import PaperDownload

    tally = Tally()
    tally.existing = PaperDownload.objects.count()
    if tally.existing:
        return tally
    readers = User.objects.in_bulk({username for username, _, _ in demo_data.DEMO_PAPER_DOWNLOADS},
                                   field_name="username")
    titles = {title for _, title, _ in demo_data.DEMO_PAPER_DOWNLOADS}
    papers = {paper.title: paper for paper in Paper.objects.filter(title__in=titles).order_by("-id")}
    now = timezone.now()
    rows = [PaperDownload(paper=papers[title], reader=readers[username], at=now - timedelta(days=days))
            for username, title, days in demo_data.DEMO_PAPER_DOWNLOADS if username in readers and title in papers]
    PaperDownload.objects.bulk_create(rows)
    tally.created = len(rows)
    return tally


def load_registrations() -> Tally:
    """The demo judge registered for the next occurrence of the first public event, once."""
    from events.models import Event, Registration
    from events.services import registration_create

    tally = Tally()
    judge = User.objects.filter(username="judge").first()
    event = Event.objects.filter(title=demo_data.EVENTS[0]["title"]).first()
    if judge is None or event is None or Registration.objects.filter(user=judge).exists():
        tally.existing = Registration.objects.filter(user=judge).count() if judge else 0
        return tally
    from events.recurrence import occurrences

    upcoming = [o.recurrence_id for o in occurrences(event, timezone.now(), timezone.now() + timedelta(days=60),
                                                     overrides=[])]
    registration_create(event=event, user=judge, occurrence=upcoming[0] if event.rrule and upcoming else None)
    tally.add(True)
    return tally


def holidays_of(year: int) -> list[tuple[date, str]]:
    """The public holidays of ``year`` as (day, name), from the table or the fixed-date rules."""
    if year in demo_data.PUBLIC_HOLIDAYS:
        spans = [(date.fromisoformat(a), date.fromisoformat(b), name) for a, b, name in demo_data.PUBLIC_HOLIDAYS[year]]
    else:
        spans = [
            (date.fromisoformat(f"{year}-{a}"), date.fromisoformat(f"{year}-{b}"), name)
            for a, b, name in demo_data.FIXED_DATE_HOLIDAYS
        ]
    days = []
    for start, end, name in spans:
        day = start
        while day <= end:
            days.append((day, name))
            day += timedelta(days=1)
    return days


def load_closed_days(*years: int) -> Tally:
    tally = Tally()
    days = [day for year in years for day in holidays_of(year)]
    existing = set(ClosedDay.objects.filter(date__in=[d for d, _ in days]).values_list("date", flat=True))
    ClosedDay.objects.bulk_create([ClosedDay(date=d, name=name) for d, name in days if d not in existing])
    for d, _ in days:
        tally.add(d not in existing)
    return tally


def load_accounts() -> tuple[list[tuple[dict, bool]], Tally]:
    """Create the missing demo users; returns each account with whether it was created."""
    tally = Tally()
    result = []
    existing = set(
        User.objects.filter(username__in=[a["username"] for a in demo_data.DEMO_ACCOUNTS]).values_list(
            "username", flat=True
        )
    )
    for account in demo_data.DEMO_ACCOUNTS:
        created = account["username"] not in existing
        if created:
            user, _ = user_upsert(
                username=account["username"],
                roles=list(account["roles"]),
                password=account["password"],
                display_name=account["display_name"],
                division=account["division"],
                card_number=account["card_number"],
                email=account.get("email"),
                phone=account.get("phone"),
                validate=False,
            )
            if account.get("notices"):
                # Only the channels this installation offers (SMS is off without DEBUG by default).
                preference_update(user=user, channels={kind: [c for c in names if c in settings.NOTICE_CHANNELS]
                                                       for kind, names in account["notices"].items()})
            if account["superuser"]:
                # user_upsert has no superuser switch; a conditional update
                # touches only these two columns.
                User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
        tally.add(created)
        result.append((account, created))
    return result, tally


def load_books() -> tuple[Tally, Tally]:
    books, copies = Tally(), Tally()
    by_isbn = Book.objects.filter(isbn__in=[b["isbn"] for b in demo_data.BOOKS if b["isbn"]]).in_bulk(field_name="isbn")
    # Old books have no ISBN; among those the title is the key.
    by_title = {
        book.title: book
        for book in Book.objects.filter(
            isbn__isnull=True, title__in=[b["title"] for b in demo_data.BOOKS if not b["isbn"]]
        ).order_by("-id")
    }
    taken_barcodes = set(
        Copy.objects.filter(barcode__in=[c["barcode"] for b in demo_data.BOOKS for c in b["copies"]]).values_list(
            "barcode", flat=True
        )
    )
    for data in demo_data.BOOKS:
        book = by_isbn.get(data["isbn"]) if data["isbn"] else by_title.get(data["title"])
        books.add(book is None)
        if book is None:
            book = book_create(
                isbn=data["isbn"],
                title=data["title"],
                subtitle=data.get("subtitle", ""),
                contributors=[Person(name, role) for name, role in data["contributors"]],
                publisher=data["publisher"],
                year=data["year"],
                edition=data.get("edition", ""),
                language=data.get("language", "zh"),
                clc=data["clc"],
                call_number=data["call_number"],
                subjects=data["subjects"],
                summary=data["summary"],
            )
        for item in data["copies"]:
            created = item["barcode"] not in taken_barcodes
            copies.add(created)
            if created:
                copy_create(
                    book=book,
                    barcode=item["barcode"],
                    location=item["location"],
                    shelf=item["shelf"],
                    status=item.get("status", Copy.Status.AVAILABLE),
                    acquired_on=date.fromisoformat(item["acquired_on"]),
                    note=item.get("note", ""),
                )
    return books, copies


def load_papers(*, created_by: User | None) -> tuple[Tally, int]:
    """Create the missing papers and attach the full texts of those that have no file; returns (tally, files)."""
    tally, files = Tally(), 0
    by_title = {
        paper.title: paper
        for paper in Paper.objects.filter(title__in=[p["title"] for p in demo_data.PAPERS]).order_by("-id")
    }
    for data in demo_data.PAPERS:
        paper = by_title.get(data["title"])
        tally.add(paper is None)
        if paper is None:
            paper = paper_create(
                title=data["title"],
                authors=data["authors"],
                abstract=data["abstract"],
                keywords=data["keywords"],
                year=data["year"],
                kind=data["kind"],
                awards=data["awards"],
                venue=data["venue"],
                visibility=data["visibility"],
                created_by=created_by,
            )
        if data.get("full_text") and not paper.has_file:
            paper_attach_file(paper=paper, data=data["full_text"].encode(), filename=f"{data['title']}.txt")
            files += 1
    return tally, files


def load_locations() -> None:
    """The demo's places with their opening hours (a place the migration registered is completed)."""
    for position, (name, code, address, hours, open_days) in enumerate(demo_data.LOCATIONS):
        Location.objects.update_or_create(name=name, defaults={"code": code, "address": address, "hours": hours,
                                                               "open_days": open_days, "pickup": True,
                                                               "position": position})


def load_sru_targets() -> None:
    """The example copy-cataloguing targets (disabled), matched by name; one a librarian changed is left alone."""
    from library.models import SruTarget

    for spec in demo_data.SRU_TARGETS:
        SruTarget.objects.get_or_create(name=spec["name"], defaults={k: v for k, v in spec.items() if k != "name"})


def load_demo() -> Report:
    """Load everything in one transaction: a failure leaves the database as it was."""
    with transaction.atomic():
        load_locations()
        load_sru_targets()
        accounts, users = load_accounts()
        books, copies = load_books()
        librarian = User.objects.filter(username="librarian").first()
        papers, files = load_papers(created_by=librarian)
        # This year's and next year's (its fixed-date holidays until its table is entered): due dates and the events'
        # calendar reach into the next year.
        closed_days = load_closed_days(library_today().year, library_today().year + 1)
        events = load_events(organizer=User.objects.filter(username="organizer").first())
        history = load_history()
        users.created += (readers := load_readers()).created
        users.existing += readers.existing
        # After the history above: it is written only into a library that has lent nothing yet.
        reader_history = load_reader_history()
        history.created += reader_history.created
        history.existing += reader_history.existing
        overdue = load_overdue_loans()
        history.created += overdue.created
        history.existing += overdue.existing
        registrations = load_registrations()
        downloads = load_downloads()
        past = load_past_events(organizer=User.objects.filter(username="organizer").first())
        events.created += past.created
        events.existing += past.existing
    return Report(
        accounts=accounts, users=users, books=books, copies=copies, papers=papers, files=files,
        closed_days=closed_days, events=events, history=history, registrations=registrations,
        downloads=downloads,
    )


def roles_label(account: dict) -> str:
    labels = {role.value: f"{role.value}（{role.label}）" for role in Role}
    if account["superuser"]:
        return gettext("超级管理员（拥有全部角色）")
    return "、".join(labels[r] for r in account["roles"])


class Command(BaseCommand):
    help = gettext_lazy("载入演示数据：图书、复本、调研成果和每个角色一个演示账号；可重复运行。")

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help=gettext("不输出统计和账号表"))

    def handle(self, *args, quiet: bool = False, **options):
        report = load_demo()
        if quiet or options.get("verbosity") == 0:
            return
        out = self.stdout
        out.write(self.style.SUCCESS(gettext("演示数据已就绪：")))
        for label, tally in (
            (pgettext("demo data", "图书"), report.books),
            (pgettext("demo data", "复本"), report.copies),
            (pgettext("demo data", "成果"), report.papers),
            (pgettext("demo data", "用户"), report.users),
            (pgettext("demo data", "闭馆日"), report.closed_days),
            (pgettext("demo data", "活动"), report.events),
            (pgettext("demo data", "借阅记录"), report.history),
            (pgettext("demo data", "报名"), report.registrations),
            (pgettext("demo data", "全文下载"), report.downloads),
        ):
            out.write("  " + gettext("%(label)s：新建 %(created)s，已存在 %(existing)s") % {
                "label": label, "created": f"{tally.created:>3}", "existing": f"{tally.existing:>3}"})
        if report.files:
            out.write("  " + gettext("全文文件：%(n)s") % {"n": report.files})
        out.write("")
        out.write(gettext("演示账号（仅供演示，正式使用前请修改）："))
        out.write(f"  {'username':<12} {'password':<22} roles")
        for account, created in report.accounts:
            state = "" if created else "  " + gettext("[已存在，未改动]")
            out.write(f"  {account['username']:<12} {account['password']:<22} {roles_label(account)}{state}")
