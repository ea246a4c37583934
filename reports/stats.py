"""Database expressions the reports need beyond Django's own: the month of an instant in library time, the
seconds between two instants, and percentiles (median, p90) of such durations computed by the database.

PostgreSQL has ``percentile_cont`` (an ordered-set aggregate); SQLite has none, so there the same figure comes
from window functions: each row's rank within its group and the group's size select the (at most two) rows
around the percentile's position, and the value is interpolated between them — ``percentile_cont``'s own
definition (position ``p·(n−1)`` counted from 0), so both backends give the same number.
"""

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import NotSupportedError, connection
from django.db.models import Count, DateField, F, FloatField, Func, Q, QuerySet, Window
from django.db.models.aggregates import Aggregate
from django.db.models.functions import Ceil, Floor, RowNumber, TruncMonth

from reports.filters import ReportFilter, library_tz

#: Past this many UTC offsets within one range (a daylight-saving zone over many years) a month is cut by
#: Django's own ``TruncMonth`` (a Python function per row on SQLite) rather than by a ``CASE`` this long.
MAX_OFFSETS = 24


@lru_cache(maxsize=256)
def utc_offsets(tz: ZoneInfo, since: datetime, until: datetime) -> tuple[tuple[datetime, int], ...] | None:
    """The UTC offsets (in seconds) ``tz`` has in ``[since, until)``: ``((first instant in UTC, offset), …)`` in
    order, the first from ``since``; None when there are more than ``MAX_OFFSETS``.

    The offset is read once a day and, where it changed, the instant of the change is found to the second by
    bisection; a zone whose clocks went back and forth again within one day would be missed (none has).
    Asia/Shanghai has had one offset since 1991: one period, whatever the range."""

    def offset(instant: datetime) -> int:
        return int(instant.astimezone(tz).utcoffset().total_seconds())

    since, until = since.astimezone(UTC), until.astimezone(UTC)
    last = until - timedelta(seconds=1)
    periods = [(since, offset(since))]
    previous = since
    while previous < last:
        probe = min(previous + timedelta(days=1), last)
        if offset(probe) != periods[-1][1]:
            # In whole seconds (POSIX time): offset(low) is the current offset, offset(high) the next one.
            low, high = math.floor(previous.timestamp()), math.ceil(probe.timestamp())
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if offset(datetime.fromtimestamp(middle, UTC)) == periods[-1][1] else (
                    low, middle)
            changed = datetime.fromtimestamp(high, UTC)
            periods.append((changed, offset(changed)))
            if len(periods) > MAX_OFFSETS:
                return None
        previous = probe
    return tuple(periods)


class LocalMonth(TruncMonth):
    """The first day (a date) of the month an instant falls in, in ``tzinfo`` — ``TruncMonth(…,
    output_field=DateField())`` for the instants in ``[since, until)``, which the rows must be limited to.

    On PostgreSQL that is ``TruncMonth`` itself (``date_trunc`` on the instant ``AT TIME ZONE``).  On SQLite Django
    registers ``TruncMonth`` with a time zone as a Python function called once per row (the circulation report
    called it for every loan); here it is SQLite's own ``strftime('%Y-%m-01', col, '+N seconds')`` with the zone's
    offset in the range (instants are stored as UTC text), or a ``CASE`` over the instants where the offset
    changes when the zone changed its clocks in the range (``utc_offsets``)."""

    def __init__(self, expression, *, since: datetime, until: datetime, tzinfo: ZoneInfo):
        super().__init__(expression, output_field=DateField(), tzinfo=tzinfo)
        self.since, self.until = since, until

    def as_sqlite(self, compiler, connection, **extra):
        periods = utc_offsets(self.tzinfo, self.since, self.until)
        if periods is None or not settings.USE_TZ or connection.timezone_name != "UTC":
            return self.as_sql(compiler, connection, **extra)
        column, params = compiler.compile(self.lhs)

        def month(offset: int) -> tuple[str, list]:
            return f"strftime('%%Y-%%m-01', {column}, '{offset:+d} seconds')", list(params)

        sql, values = month(periods[-1][1])
        if len(periods) == 1:
            return sql, tuple(values)
        cases, case_params = [], []
        for (_start, offset), (end, _next) in zip(periods, periods[1:], strict=False):
            then, then_params = month(offset)
            cases.append(f"WHEN {column} < %s THEN {then}")
            case_params += [*params, connection.ops.adapt_datetimefield_value(end), *then_params]
        return f"CASE {' '.join(cases)} ELSE {sql} END", (*case_params, *values)


def month_of(field: str, f: ReportFilter) -> LocalMonth:
    """The month (its first day) of the instant ``field`` in library time, for rows limited to ``f``'s range."""
    return LocalMonth(field, since=f.since, until=f.until, tzinfo=library_tz())


class Seconds(Func):
    """``end - start`` in seconds, as a float (NULL when either is NULL)."""

    arity = 2
    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError("Seconds is written for SQLite and PostgreSQL")

    def as_sqlite(self, compiler, connection, **extra):
        # Instants are stored as UTC text; julianday() reads them to the millisecond.
        return super().as_sql(compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)",
                              arg_joiner=") - julianday(", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection,
                              template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision",
                              arg_joiner=" - ", **extra)


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(p) WITHIN GROUP (ORDER BY expression)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        if not 0 <= fraction <= 1:
            raise ValueError("a fraction between 0 and 1")
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentiles(rows: QuerySet, value, fractions: tuple[float, ...], *, group=None) -> dict:
    """``{group value: {"n": count, fraction: percentile, …}}`` of ``value`` (an expression, NULLs left out)
    over ``rows``, per value of ``group`` (an expression; None: one group, keyed None).

    One query on either backend.  On SQLite the query returns at most two rows per group and fraction; the
    interpolation between them is the only arithmetic done here."""
    rows = rows.annotate(_value=value).filter(_value__isnull=False)
    if group is not None:
        rows = rows.annotate(_group=group)
    group_key = "_group" if group is not None else None
    result: dict = {}
    if connection.vendor == "postgresql":
        aggregates = {f"p{i}": PercentileCont(F("_value"), fraction) for i, fraction in enumerate(fractions)}
        grouped = rows.values(group_key) if group_key else rows.values()
        if group_key:
            found = grouped.annotate(n=Count("pk"), **aggregates).order_by()
        else:
            found = [grouped.aggregate(n=Count("pk"), **aggregates)]
        for entry in found:
            if not entry["n"]:
                continue
            result[entry.get("_group") if group_key else None] = {
                "n": entry["n"], **{fraction: entry[f"p{i}"] for i, fraction in enumerate(fractions)}}
        return result
    if connection.vendor != "sqlite":
        raise NotSupportedError("percentiles are written for SQLite and PostgreSQL")
    partition = [F("_group")] if group_key else []
    ranked = rows.annotate(
        _rank=Window(RowNumber(), partition_by=partition, order_by=[F("_value").asc(), F("pk").asc()]),
        _n=Window(Count("pk"), partition_by=partition),
    )
    wanted = Q()
    for fraction in fractions:
        position = (F("_n") - 1) * fraction
        wanted |= Q(_rank__gte=Floor(position) + 1, _rank__lte=Ceil(position) + 1)
    picked = ranked.filter(wanted).values_list(*(["_group"] if group_key else []), "_rank", "_n", "_value")
    by_group: dict = defaultdict(dict)
    sizes: dict = {}
    for entry in picked:
        key = entry[0] if group_key else None
        rank, n, val = entry[-3:]
        by_group[key][rank] = val
        sizes[key] = n
    for key, values in by_group.items():
        n = sizes[key]
        figures: dict = {"n": n}
        for fraction in fractions:
            position = (n - 1) * fraction
            low, high = math.floor(position), math.ceil(position)
            figures[fraction] = values[low + 1] + (values[high + 1] - values[low + 1]) * (position - low)
        result[key] = figures
    return result
