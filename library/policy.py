"""Loan rules and the library's calendar: which policy applies, what day it is, which days are open.

Dates of circulation (due dates, pickup deadlines, "overdue") are dates in the library's time zone
(``settings.TIME_ZONE``, Asia/Shanghai), never UTC dates: a book due on 2026-12-03 is overdue from
00:00 on the 4th in Inner Mongolia.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from accounts.selectors import user_roles
from library.models import ClosedDay, LoanPolicy

#: How far ahead a closed-day run is looked for (a longer closure is a data error, not a holiday).
MAX_CLOSED_RUN = 60


@dataclass(frozen=True)
class Policy:
    loan_days: int = 30
    max_renewals: int = 2
    renewal_days: int = 30
    max_loans: int = 10
    pickup_days: int = 3
    max_holds: int = 5


DEFAULT = Policy()
_FIELDS = ("loan_days", "max_renewals", "renewal_days", "max_loans", "pickup_days", "max_holds")


def library_today(now: datetime | None = None) -> date:
    """Today in the library's time zone."""
    return timezone.localdate(now or timezone.now())


def policy_for(patron: AbstractBaseUser, location: str = "") -> Policy:
    """The rules for ``patron`` borrowing a copy kept at ``location`` ("" for patron-wide limits).

    The most specific row wins: (role, location) > ("", location) > (role, "") > ("", "").  A patron
    with several roles gets, among rows of the same specificity, the most generous one.
    """
    roles = user_roles(patron)
    rows = list(LoanPolicy.objects.filter(role__in=[*roles, ""], location__in=[location, ""]))
    if not rows:
        return DEFAULT

    def specificity(row: LoanPolicy) -> tuple[int, int]:
        return (1 if row.location else 0, 1 if row.role else 0)

    best = max(specificity(r) for r in rows)
    candidates = [r for r in rows if specificity(r) == best]
    chosen = max(candidates, key=lambda r: (r.loan_days, r.max_loans, r.max_renewals, r.pk))
    return Policy(**{f: getattr(chosen, f) for f in _FIELDS})


def next_open_day(day: date) -> date:
    """``day`` itself when the library is open, else the first open day after it."""
    closed = set(
        ClosedDay.objects.filter(date__gte=day, date__lte=day + timedelta(days=MAX_CLOSED_RUN)).values_list(
            "date", flat=True
        )
    )
    while day in closed:
        day += timedelta(days=1)
    return day


def due_date_after(start: date, days: int) -> date:
    return next_open_day(start + timedelta(days=days))


def pickup_deadline(start: date, days: int, location) -> date:
    """The last day to pick a held copy up at ``location``: ``days`` days on which the place is open (its
    ``open_days``, the library's closed days excepted) after ``start``.  A tribunal open on Tuesdays and
    Thursdays gives a reader three of its own open days, not three calendar days that may all be shut."""
    horizon = start + timedelta(days=MAX_CLOSED_RUN + 7 * days)
    closed = set(ClosedDay.objects.filter(date__gt=start, date__lte=horizon).values_list("date", flat=True))
    day, counted = start, 0
    while counted < max(days, 1) and day < horizon:
        day += timedelta(days=1)
        if location.is_open_on(day) and day not in closed:
            counted += 1
    return day
