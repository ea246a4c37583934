"""events.bounded_rrule: the private dateutil names it relies on, checked so that an upgrade fails here loudly."""

from datetime import datetime
from importlib.metadata import version

import pytest
from dateutil.rrule import DAILY, YEARLY

from events.bounded_rrule import DATEUTIL_VERSION, BoundedRule, Budget, BudgetExceeded


def test_written_against_the_installed_dateutil():
    """Fails on another dateutil: re-read _iterinfo.rebuild and rrule._iter, then change DATEUTIL_VERSION."""
    assert version("python-dateutil") == DATEUTIL_VERSION


def test_a_month_of_daily_periods_costs_one_step():
    budget = Budget(steps=100, results=1000)
    rule = BoundedRule(DAILY, dtstart=datetime(2027, 1, 1, 9), budget=budget)

    days = [dt for _, dt in zip(range(90), rule, strict=False)]  # January, February, March

    assert (len(days), days[-1], budget.spent_steps) == (90, datetime(2027, 3, 31, 9), 3)


@pytest.mark.parametrize("freq, kwargs", [
    (DAILY, {"bymonth": [2], "bymonthday": [30]}),
    (YEARLY, {"bymonth": [2], "bymonthday": [30], "bysetpos": [1, 2, 3, 4, 5, 6, 7]}),
])
def test_a_rule_that_never_matches_stops_at_its_budget_instead_of_year_9999(freq, kwargs):
    budget = Budget(steps=120, results=1000)
    rule = BoundedRule(freq, dtstart=datetime(2027, 1, 1, 9), budget=budget, **kwargs)

    with pytest.raises(BudgetExceeded):
        next(iter(rule))

    assert 120 < budget.spent_steps <= 132 and budget.spent_results == 0
