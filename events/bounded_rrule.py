"""dateutil's ``rrule`` with a cost limit: the one place that touches dateutil's private names.

Written against python-dateutil 2.9.0.post0 (``DATEUTIL_VERSION``; ``tests/events/test_bounded_rrule.py``
fails when another version is installed, so an upgrade re-reads this).

Why: ``rrule._iter`` walks period by period (a day, a week, a month, a year) from DTSTART and stops
only at a match past COUNT or UNTIL, or at year 9999.  A rule whose periods stop matching
(``FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30`` never matches) is scanned day by day to the year 9999:
seconds to minutes of CPU for one ``after()``.  The iterator yields nothing while it scans, so a
caller cannot stop it from outside.

How: ``_iterinfo.rebuild(year, month)``, which ``_iter`` calls whenever the period's month or year
changes (once a period for MONTHLY and YEARLY, at least once every 31 periods for DAILY and WEEKLY,
INTERVAL being at least 1), reads ``rrule._bynweekday`` every time.  ``BoundedRule`` makes that
attribute a property that charges a ``Budget`` and raises ``BudgetExceeded`` when it runs out: the
exception leaves ``_iter`` and the scan ends.  A charge is about a month of days to look at (a year
for YEARLY counts 12), whatever the rule, so a budget is a cost in CPU, not a span of time.
"""

from dataclasses import dataclass

from dateutil import rrule as dateutil_rrule

DATEUTIL_VERSION = "2.9.0.post0"


class BudgetExceeded(Exception):
    """The expansion looked at more periods or produced more instances than its budget allows."""


@dataclass
class Budget:
    """What one expansion (or several sharing it) may spend: ``steps`` months of periods looked at
    and ``results`` instances produced."""

    steps: float
    results: int
    spent_steps: float = 0
    spent_results: int = 0

    def charge_step(self, units: float) -> None:
        self.spent_steps += units
        if self.spent_steps > self.steps:
            raise BudgetExceeded(f"more than {self.steps} months of periods scanned")

    def charge_result(self) -> None:
        self.spent_results += 1
        if self.spent_results > self.results:
            raise BudgetExceeded(f"more than {self.results} instances")


class BoundedRule(dateutil_rrule.rrule):
    """An ``rrule`` (never cached) whose iteration charges ``budget`` for every month of periods it
    looks at, matching or not.  Iterating it raises ``BudgetExceeded`` past the budget."""

    def __init__(self, freq, *, budget: Budget, **kwargs):
        self._charge = None
        super().__init__(freq, cache=False, **kwargs)
        # rebuild() reads _bynweekday once, plus once for each month range when the rule has ordinal
        # weekdays (1FR, -1SU): spread one rebuild's cost over its reads.
        reads = 1
        if self._bynweekday_value:
            reads += len(self._bymonth or ()) if freq == dateutil_rrule.YEARLY and self._bymonth else 1
        per_rebuild = 12 if freq == dateutil_rrule.YEARLY else 1
        units = per_rebuild / reads
        self._charge = lambda: budget.charge_step(units)

    @property
    def _bynweekday(self):
        if self._charge is not None:
            self._charge()
        return self._bynweekday_value

    @_bynweekday.setter
    def _bynweekday(self, value):
        self._bynweekday_value = value
