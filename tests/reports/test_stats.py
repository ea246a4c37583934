"""The month of an instant in library time (``reports.stats.LocalMonth``): the same months as Django's
``TruncMonth`` with the zone, on SQLite and PostgreSQL, for a zone without daylight saving (Asia/Shanghai) and
one with it (Europe/Berlin), and on SQLite without the Python function ``TruncMonth`` registers there."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import DateField
from django.db.models.functions import TruncMonth

from reports.stats import LocalMonth, utc_offsets

User = get_user_model()
SH, BERLIN = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Berlin")


def test_shanghai_has_one_offset_over_five_years():
    since, until = datetime(2022, 1, 1, tzinfo=SH), datetime(2027, 1, 1, tzinfo=SH)
    assert utc_offsets(SH, since, until) == ((since.astimezone(UTC), 8 * 3600),)


def test_berlin_changes_its_offset_at_the_second_the_clocks_change():
    since, until = datetime(2026, 1, 1, tzinfo=BERLIN), datetime(2027, 1, 1, tzinfo=BERLIN)
    assert utc_offsets(BERLIN, since, until) == (
        (datetime(2025, 12, 31, 23, 0, tzinfo=UTC), 3600),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),  # 02:00 CET → 03:00 CEST
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),  # 03:00 CEST → 02:00 CET
    )


def _months(tz: ZoneInfo, since: datetime, until: datetime) -> list[tuple[str, date, date]]:
    rows = (User.objects.filter(date_joined__gte=since, date_joined__lt=until)
            .annotate(fast=LocalMonth("date_joined", since=since, until=until, tzinfo=tz),
                      django=TruncMonth("date_joined", tzinfo=tz, output_field=DateField()))
            .order_by("username").values_list("username", "fast", "django"))
    return list(rows)


@pytest.mark.parametrize("tz", [SH, BERLIN], ids=["Asia/Shanghai", "Europe/Berlin"])
def test_the_month_of_every_instant_is_truncmonths(db, tz):
    since, until = datetime(2025, 12, 1, tzinfo=tz), datetime(2027, 1, 1, tzinfo=tz)
    # Every 5 h 7 min over the range, and the instants either side of each month's start and of each clock change.
    instants = [since + timedelta(minutes=307 * i) for i in range(int((until - since).total_seconds() // (307 * 60)))]
    for year, month in [(2025, 12), *((2026, m) for m in range(1, 13))]:
        first = datetime(year, month, 1, tzinfo=tz).astimezone(UTC)
        instants += [first - timedelta(seconds=1), first]
    for change in (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC)):
        instants += [change - timedelta(seconds=1), change]
    instants = [i for i in instants if since <= i < until]
    User.objects.bulk_create([User(username=f"u{n:05d}", date_joined=at) for n, at in enumerate(instants)])

    found = _months(tz, since, until)

    assert len(found) == len(instants)
    assert [fast for _name, fast, _django in found] == [django for _name, _fast, django in found]
    # And the months are the zone's, not UTC's: the last second of November in the zone is November's.
    by_name = {name: fast for name, fast, _django in found}
    last_of_november = datetime(2026, 12, 1, tzinfo=tz) - timedelta(seconds=1)
    assert by_name[f"u{instants.index(last_of_november.astimezone(UTC)):05d}"] == date(2026, 11, 1)
    assert by_name[f"u{instants.index(datetime(2026, 12, 1, tzinfo=tz).astimezone(UTC)):05d}"] == date(2026, 12, 1)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own month expression")
@pytest.mark.parametrize(("tz", "cases"), [(SH, 0), (BERLIN, 2)], ids=["Asia/Shanghai", "Europe/Berlin"])
def test_sqlite_cuts_months_with_strftime_not_a_python_function(db, tz, cases):
    since, until = datetime(2026, 1, 1, tzinfo=tz), datetime(2027, 1, 1, tzinfo=tz)
    sql = str(User.objects.annotate(m=LocalMonth("date_joined", since=since, until=until, tzinfo=tz))
              .values("m").query)
    assert "django_date_trunc" not in sql
    assert sql.count("strftime('%Y-%m-01'") == cases + 1
    assert sql.count(" WHEN ") == cases
