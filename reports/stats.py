"""Database expressions the reports need beyond Django's own: the seconds between two instants, and
percentiles (median, p90) of such durations computed by the database.

PostgreSQL has ``percentile_cont`` (an ordered-set aggregate); SQLite has none, so there the same figure comes
from window functions: each row's rank within its group and the group's size select the (at most two) rows
around the percentile's position, and the value is interpolated between them — ``percentile_cont``'s own
definition (position ``p·(n−1)`` counted from 0), so both backends give the same number.
"""

import math
from collections import defaultdict

from django.db import NotSupportedError, connection
from django.db.models import Count, F, FloatField, Func, Q, QuerySet, Window
from django.db.models.aggregates import Aggregate
from django.db.models.functions import Ceil, Floor, RowNumber


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
