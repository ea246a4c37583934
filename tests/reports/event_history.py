"""Events on top of the circulation history (tests/reports/history.py), written through the events services, for
the events and readers report tests: every figure is worked out by hand in tests/reports/test_event_reports.py.

Time stands at 2026-06-15 10:00 in Beijing (``history.NOW``); the reports read 2026-01-01 to 2026-06-15.  One more
reader: j3 (民事审判庭).  Venue 报告厅 seats 30.

===  ========  ===========================  =========================================================  ==========
E    kind      when (Beijing)               registrations → outcome                                    check-ins
===  ========  ===========================  =========================================================  ==========
E4   reading   2026-03-01 10:00, 报告厅      j1 02-10, j2 02-11 (confirmed)                             j2
     (no own capacity: the venue's 30), reading list 刑法学 (b2)
E1   salon     2026-03-05 14:00, 报告厅      capacity 2: j1 02-20, j2 02-21 confirmed; org 02-22, j3    j1, org
                                            02-23 waitlisted; j2 cancels 02-25 → org promoted
     reading list 民法典评注 (b1) and the papers P1 and P2
E2   tea_talk  10 Apr, 10 May, 10 Jun 15:00  j1 the whole series 04-01; j2 the June session 05-20;       Apr: j1
               (online, unlimited)           May's session cancelled; mgr walks in in June              Jun: j1, j2, mgr
E3   seminar   2026-05-15 09:00             cancelled                                                   —
===  ========  ===========================  =========================================================  ==========

Loans of the reading lists around their sessions (history.py): b2 — L3 j1 03-10 (after E4); b1 — L1b org 02-12
(before E1), L4 org 04-01 00:30 (after E1, by an attendee).

Papers and their full-text downloads (``library.services.paper_download_record``, what the download endpoint
calls):

===  ===================  ====================  ============================================================
P    kind                 title                 downloads (Beijing)
===  ===================  ====================  ============================================================
P1   research_project     民法典适用调研 (2025)   j1 2025-05-10 (last year); j1 01-10, j2 01-12, j1 03-02
P2   article              执行案款管理研究 (2024)  anonymous 02-01; org 2026-04-01 00:30 (April in Beijing)
P3   case_study           一起借贷纠纷的评析 (2026)  j3 05-05
===  ===================  ====================  ============================================================
"""

from dataclasses import dataclass

from accounts.models import Role
from events import services as events
from library.services import paper_create, paper_download_record
from tests.conftest import make_user
from tests.reports import history
from tests.reports.history import at


@dataclass
class EventHistory:
    base: history.History
    users: dict
    events: dict


def build() -> EventHistory:
    base = history.build()
    users = dict(base.users)
    users["j3"] = make_user("j3", Role.JUDGE, display_name="赵强", division="民事审判庭")
    j1, j2, org, mgr, j3 = users["j1"], users["j2"], users["org"], users["mgr"], users["j3"]
    hall = events.venue_create(name="报告厅", capacity=30)
    p1 = paper_create(title="民法典适用调研", year=2025)
    p2 = paper_create(title="执行案款管理研究", year=2024, kind="article")
    p3 = paper_create(title="一起借贷纠纷的评析", year=2026, kind="case_study")

    def create(**data):
        return events.event_create(data=events.EventData(**data), actor=org, force=True)

    e4 = create(title="读书活动：刑法学", kind="reading", start=at(2026, 3, 1, 10), end=at(2026, 3, 1, 12), venue=hall.pk,
                books=[base.books["b2"].pk])
    e1 = create(title="读者沙龙：民法典", kind="salon", start=at(2026, 3, 5, 14), end=at(2026, 3, 5, 16), venue=hall.pk,
                capacity=2, books=[base.books["b1"].pk], papers=[p1.pk, p2.pk])
    e2 = create(title="法官茶座", kind="tea_talk", start=at(2026, 4, 10, 15), end=at(2026, 4, 10, 16),
                rrule="FREQ=MONTHLY;COUNT=3", online_url="https://meet.example.org/tea")
    e3 = create(title="法学研讨会：执行难", kind="seminar", start=at(2026, 5, 15, 9), end=at(2026, 5, 15, 12),
                venue=hall.pk)

    def register(event, user, when, occurrence=None):
        return events.registration_create(event=event, user=user, occurrence=occurrence, now=when)

    def check_in(event, user, when, occurrence=None, walk_in=False):
        return events.check_in(event=event, user=user, occurrence=occurrence, actor=org, walk_in=walk_in, now=when)

    register(e4, j1, at(2026, 2, 10))
    register(e4, j2, at(2026, 2, 11))
    register(e1, j1, at(2026, 2, 20))
    r_j2 = register(e1, j2, at(2026, 2, 21))
    register(e1, org, at(2026, 2, 22))
    register(e1, j3, at(2026, 2, 23))
    events.registration_cancel(registration=r_j2, now=at(2026, 2, 25))
    check_in(e4, j2, at(2026, 3, 1, 10, 5))
    check_in(e1, j1, at(2026, 3, 5, 14, 5))
    check_in(e1, org, at(2026, 3, 5, 14, 6))
    register(e2, j1, at(2026, 4, 1))
    register(e2, j2, at(2026, 5, 20), occurrence=at(2026, 6, 10, 15))
    events.event_cancel(event=e2, actor=org, occurrence=at(2026, 5, 10, 15))
    check_in(e2, j1, at(2026, 4, 10, 15, 1), occurrence=at(2026, 4, 10, 15))
    check_in(e2, j1, at(2026, 6, 10, 15, 1), occurrence=at(2026, 6, 10, 15))
    check_in(e2, j2, at(2026, 6, 10, 15, 2), occurrence=at(2026, 6, 10, 15))
    check_in(e2, mgr, at(2026, 6, 10, 15, 3), occurrence=at(2026, 6, 10, 15), walk_in=True)
    events.event_cancel(event=e3, actor=org, occurrence=None)
    for paper, reader, when in ((p1, j1, at(2025, 5, 10)), (p1, j1, at(2026, 1, 10)), (p1, j2, at(2026, 1, 12)),
                                (p1, j1, at(2026, 3, 2)), (p2, None, at(2026, 2, 1)), (p2, org, at(2026, 4, 1, 0, 30)),
                                (p3, j3, at(2026, 5, 5))):
        paper_download_record(paper=paper, reader=reader, now=when)
    return EventHistory(base=base, users=users, events={"e1": e1, "e2": e2, "e3": e3, "e4": e4, "p1": p1, "p2": p2,
                                                        "p3": p3})
