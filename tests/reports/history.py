"""A small circulation history with known dates, written through the circulation services, for the report
tests: every figure the reports show of it is worked out by hand in tests/reports/test_library_reports.py.

Time stands at 2026-06-15 10:00 in Beijing (``NOW``); the reports read 2026-01-01 to 2026-06-15 and compare with
2025.  Two places: 院本部 (main) and 棋盘井法庭 (qpj), both pickup points.

=====  ======  ====  ====================  =====================  ========================================
loan   reader  copy  borrowed              returned               note
=====  ======  ====  ====================  =====================  ========================================
L0     j1      C1    2025-03-10 10:00      2025-03-20 10:00       last year
L1     j1      C1    2026-01-05 10:00      2026-02-10 10:00       renewed 2026-01-20; return fills H1
L2     j2      C2    2026-01-15 09:00      2026-03-01 09:00       C2 is kept at qpj
L1b    org     C1    2026-02-12 10:00      2026-03-05 10:00       fulfils H1
L3     j1      C3    2026-03-10 10:00      2026-03-25 10:00       fulfils H2
L4     org     C1    2026-04-01 00:30      —                      April in Beijing (31 March in UTC); due 05-01
L6     j1      C4    2026-04-26 10:00      —                      C4 at qpj; due 05-26
L5     j2      C3    2026-05-12 10:00      —                      due 06-11
=====  ======  ====  ====================  =====================  ========================================

Holds (all picked up at main):

* H0 j1 B2 2025-03-15 10:00, set aside (C3 on the pull list), cancelled 2025-03-16 — last year;
* H1 org B1 2026-02-01 10:00, waits; ready 02-10 10:00 (L1's return), collected 02-12 10:00;
* H2 j1 B2 2026-03-01 10:00, C3 on the pull list; pulled 14:00 (ready there); collected 03-10 10:00;
* H3 j2 B3 2026-04-20 10:00, C4 on qpj's pull list; pulled 04-21 10:00, by van, received 04-22 10:00 (ready);
  expired 04-26 09:00, C4 back home by 09:30;
* H4 j1 B1 2026-05-01 10:00, C2 on qpj's pull list; cancelled 05-02 10:00.

Copies never lent: C5 (TP3, acquired 2020), C6 (B1, acquired 2019); C7 (TP3) acquired 2026-06-20, after the
range; C8 (TP3) withdrawn.
"""

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import Role
from library import circulation
from library.models import Copy, Location, Transfer
from library.services import book_create, copy_create
from tests.conftest import make_user

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=SH)
RANGE = {"from": "2026-01-01", "to": "2026-06-15"}


def at(year: int, month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


@dataclass
class History:
    users: dict
    books: dict
    copies: dict
    locations: dict


def build() -> History:
    main, _ = Location.objects.update_or_create(name="院本部", defaults={"code": "main", "pickup": True, "position": 0})
    qpj, _ = Location.objects.update_or_create(name="棋盘井法庭", defaults={"code": "qpj", "pickup": True,
                                                                         "position": 1})
    j1 = make_user("j1", Role.JUDGE, display_name="张明", division="民事审判庭")
    j2 = make_user("j2", Role.JUDGE, display_name="巴特尔", division="执行局")
    org = make_user("org", Role.ORGANIZER, display_name="王芳", division="政治部")
    lib = make_user("lib", Role.LIBRARIAN, display_name="李娜", division="办公室")
    mgr = make_user("mgr", Role.MANAGER, display_name="高远", division="院领导")
    b1 = book_create(title="民法典评注", contributors=["王利明", "程啸"], clc="D923")
    b2 = book_create(title="刑法学", contributors=["张明楷"], clc="D924")
    b3 = book_create(title="公司法", clc="D922.291")
    b4 = book_create(title="计算机基础", clc="TP3")
    b5 = book_create(title="哲学导论", clc="B1")
    c1 = copy_create(book=b1, barcode="C1", location="院本部")
    c2 = copy_create(book=b1, barcode="C2", location="棋盘井法庭")
    c3 = copy_create(book=b2, barcode="C3", location="院本部")
    c4 = copy_create(book=b3, barcode="C4", location="棋盘井法庭")
    c5 = copy_create(book=b4, barcode="C5", location="院本部", acquired_on=date(2020, 1, 1))
    c6 = copy_create(book=b5, barcode="C6", location="院本部", acquired_on=date(2019, 5, 1))
    c7 = copy_create(book=b4, barcode="C7", location="院本部", acquired_on=date(2026, 6, 20))
    c8 = copy_create(book=b4, barcode="C8", location="院本部", acquired_on=date(2018, 1, 1))
    Copy.objects.filter(pk=c8.pk).update(status=Copy.Status.WITHDRAWN)

    def lend(patron, copy, when):
        return circulation.loan_checkout(patron=patron, actor=lib, copy=Copy.objects.get(pk=copy.pk), now=when)

    def give_back(loan, when):
        return circulation.loan_return(loan=loan, actor=lib, now=when)

    def hold(patron, book, when, pickup=main):
        return circulation.hold_place(patron=patron, book=book, actor=patron, pickup_location=pickup, now=when)

    # Last year.
    give_back(lend(j1, c1, at(2025, 3, 10)), at(2025, 3, 20))
    h0 = hold(j1, b2, at(2025, 3, 15))
    circulation.hold_cancel(hold=h0, actor=j1, now=at(2025, 3, 16))
    # This year.
    l1 = lend(j1, c1, at(2026, 1, 5))
    circulation.loan_renew(loan=l1, actor=j1, now=at(2026, 1, 20))
    l2 = lend(j2, c2, at(2026, 1, 15, 9))
    hold(org, b1, at(2026, 2, 1))  # H1: both copies out, waits
    give_back(l1, at(2026, 2, 10))  # C1 to the hold shelf for H1
    l1b = lend(org, c1, at(2026, 2, 12))
    give_back(l2, at(2026, 3, 1, 9))
    h2 = hold(j1, b2, at(2026, 3, 1))  # C3 on the pull list
    circulation.hold_pulled(hold=h2, actor=lib, now=at(2026, 3, 1, 14))
    give_back(l1b, at(2026, 3, 5))
    l3 = lend(j1, c3, at(2026, 3, 10))
    give_back(l3, at(2026, 3, 25))
    lend(org, c1, at(2026, 4, 1, 0, 30))  # L4
    h3 = hold(j2, b3, at(2026, 4, 20))  # C4 on qpj's pull list
    circulation.hold_pulled(hold=h3, actor=lib, now=at(2026, 4, 21))
    circulation.transfer_receive(transfer=Transfer.objects.get(hold=h3), actor=lib, now=at(2026, 4, 22))
    circulation.holds_expire(now=at(2026, 4, 26, 9))
    circulation.transfer_receive(transfer=Transfer.objects.get(copy=c4, status__in=Transfer.OPEN), actor=lib,
                                 now=at(2026, 4, 26, 9, 30))
    lend(j1, c4, at(2026, 4, 26))  # L6
    h4 = hold(j1, b1, at(2026, 5, 1))  # C2 on qpj's pull list
    circulation.hold_cancel(hold=h4, actor=j1, now=at(2026, 5, 2))
    lend(j2, c3, at(2026, 5, 12))  # L5
    return History(
        users={"j1": j1, "j2": j2, "org": org, "lib": lib, "mgr": mgr},
        books={"b1": b1, "b2": b2, "b3": b3, "b4": b4, "b5": b5},
        copies={"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5, "c6": c6, "c7": c7, "c8": c8},
        locations={"main": main, "qpj": qpj},
    )


def built_once(django_db_blocker, build):
    """Yield ``build()``'s history made once at NOW inside a transaction rolled back at the end (a module-scoped
    fixture's body: each test then runs in a savepoint of it)."""
    from django.db import transaction
    from django.test import override_settings

    outer = transaction.atomic()
    with django_db_blocker.unblock():
        outer.__enter__()
    try:
        with (django_db_blocker.unblock(), time_machine.travel(NOW, tick=False),
              override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])):
            built = build()
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def history_fixtures(build):
    """A module's two fixtures over ``build()``'s history: ``shared_history``, built once for the module in a
    transaction rolled back at its end (``built_once``), and ``world``, the same history for one test, run in a
    savepoint of it with the clock stopped at NOW.  ``shared_history, world = history_fixtures(build)``."""

    @pytest.fixture(scope="module")
    def shared_history(django_db_setup, django_db_blocker):
        yield from built_once(django_db_blocker, build)

    @pytest.fixture
    def world(shared_history, db):
        with time_machine.travel(NOW, tick=False):
            yield shared_history

    return shared_history, world
