"""What a report is: a title, the definition of its figures, tables of columns and rows, a chart spec per
table, and the records behind each figure (the drill-down).

A report module (``reports/library_reports.py``) defines subclasses of ``Report`` and lists them in its
``REPORTS``; ``reports.registry`` collects the modules.  The pages, the exports and the API all render the same
``Table`` objects, so a figure on the page, in the XLSX/CSV file and in the JSON is one number computed once.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from accounts.selectors import user_has_role
from core.errors import InvalidInput
from reports.filters import ReportFilter, small_divisions

#: The index's headings, in order: what is read (the leadership's first question), the events, then the desk's
#: daily work.
SECTIONS = (("reading", gettext_lazy("借阅与读者")), ("events", gettext_lazy("活动")),
            ("work", gettext_lazy("馆藏与日常工作")))

#: Column kinds: how a value is shown, exported and typed in the API.
KINDS = ("text", "int", "number", "percent", "month", "date", "datetime")


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation
    kind: str = "int"


@dataclass(frozen=True)
class Series:
    column: str
    type: str = "bar"  # bar | line


@dataclass(frozen=True)
class Chart:
    """How ``static/reports.js`` draws a table with Apache ECharts.  It reads the numbers from the table's own
    cells (``data-v``), so the chart and the table cannot disagree.

    ``x`` is the column of the categories; ``series`` the columns drawn.  With ``group`` the rows are long
    (one per category and group: month × location) and are pivoted into one series per value of ``group``,
    drawing ``value``.  ``horizontal`` puts the categories on the vertical axis (rankings with long titles)."""

    x: str
    series: tuple[Series, ...] = ()
    group: str = ""
    value: str = ""
    stack: bool = False
    horizontal: bool = False
    #: A column that tells apart rows whose ``x`` is the same (two books titled 法理学: their authors).
    detail: str = ""

    def spec(self) -> dict:
        return {"x": self.x, "series": [{"column": s.column, "type": s.type} for s in self.series],
                "group": self.group, "value": self.value, "stack": self.stack, "horizontal": self.horizontal,
                "detail": self.detail}


@dataclass
class Table:
    """One table of a report.  ``links[i]`` maps a column key of row ``i`` to the drill-down parameters of the
    records behind that figure (``{"figure": "loans", "month": "2026-03"}``); a figure without an entry has no
    list behind it."""

    key: str
    title: Any
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    links: list[dict[str, dict[str, str]]] = field(default_factory=list)
    #: ``targets[i]`` maps a column key of row ``i`` to the catalogue or events page its text names:
    #: ``("book", id)``, ``("paper", id)``, ``("event", id)`` — a title links to its book or paper, a session to its
    #: event, for a viewer who may see it (``reports.targets``).  Not exported: a page's link, not a figure.
    targets: list[dict[str, tuple[str, int]]] = field(default_factory=list)
    chart: Chart | None = None
    note: Any = ""
    #: How many of the last rows are totals (全院, 全年): shown in the table's footer, exported and returned by the
    #: API like the others, but never drawn in the chart, where a total would dwarf the rows it adds up.
    totals: int = 0

    def column_index(self, key: str) -> int:
        return [c.key for c in self.columns].index(key)

    def add(self, row: list, links: dict[str, dict[str, str]] | None = None,
            targets: dict[str, tuple[str, int]] | None = None) -> None:
        if self.totals:
            raise ValueError("a table's total rows come last")
        self.rows.append(row)
        self.links.append(links or {})
        self.targets.append(targets or {})

    def add_total(self, row: list, links: dict[str, dict[str, str]] | None = None) -> None:
        """A total row after the others (see ``totals``)."""
        self.rows.append(row)
        self.links.append(links or {})
        self.targets.append({})
        self.totals += 1


@dataclass
class Records:
    """The records behind a figure: a queryset (paginated by the page, the API and nothing else) and how each
    object becomes a row.  ``personal``: the rows name readers, so only librarians may see them."""

    title: Any
    columns: list[Column]
    queryset: QuerySet
    row: Callable[[Any], list]
    personal: bool = True


def reader_name(user: AbstractBaseUser) -> str:
    """A reader as records name them: the profile's name, else the username.  Reads ``user.profile``
    (``select_related`` it)."""
    return getattr(getattr(user, "profile", None), "display_name", "") or user.get_username()


def may_read_library_reports(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Librarians and the court's leadership (superusers hold every role)."""
    return user_has_role(user, Role.LIBRARIAN, Role.MANAGER)


def may_see_readers(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether lists that name readers (a loan's borrower) may be shown: librarians only.  The leadership sees
    divisions, never an individual judge's reading."""
    return user_has_role(user, Role.LIBRARIAN)


def min_group(user: AbstractBaseUser | AnonymousUser) -> int:
    """The fewest people ``user`` sees counted as one group (a division, a role): 0 for librarians (they see every
    person anyway); ``REPORT_MIN_GROUP`` for others, so a group of one or two people does not show those people's
    reading (``FilterForm`` merges the smaller ones: ``small_divisions``, ``small_roles``)."""
    return 0 if may_see_readers(user) else settings.REPORT_MIN_GROUP


def merged_divisions(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The divisions whose figures ``user`` sees only together, as "其他部门" (``min_group``)."""
    return small_divisions(min_group(user))


class Report:
    """A report.  Subclasses set the class attributes and implement ``tables`` and, for drill-downs,
    ``records``."""

    slug: str = ""
    title: Any = ""
    #: What the figures count, in a sentence or three (docs/reports.md has the exact definitions).
    definition: Any = ""
    #: The filter fields the report reads (others are ignored); from/to/location/division/by/clc/top.
    uses: tuple[str, ...] = ("from", "to", "location", "division")
    #: The heading the index lists it under (``SECTIONS``).
    section: str = "reading"

    def allowed(self, user: AbstractBaseUser | AnonymousUser) -> bool:
        """Who may read the report's figures: by default the library-wide audience."""
        return may_read_library_reports(user)

    def period(self, f: ReportFilter) -> str:
        """The time the figures cover, as the page states it: the range; for a report without a start date
        (never-borrowed copies) the day it counts up to; for one without dates (overdue loans) today."""
        if "from" in self.uses:
            return _("统计时间：%(start)s 至 %(end)s") % {"start": f"{f.start:%Y-%m-%d}", "end": f"{f.end:%Y-%m-%d}"}
        if "to" in self.uses:
            return _("统计截至 %(end)s") % {"end": f"{f.end:%Y-%m-%d}"}
        return _("今天（%(today)s）的情况") % {"today": f"{f.today:%Y-%m-%d}"}

    def tables(self, f: ReportFilter) -> list[Table]:
        raise NotImplementedError

    def records(self, f: ReportFilter, params: dict[str, str]) -> Records:
        """The records behind the figure ``params`` names (from a ``Table.links`` entry).  Raises InvalidInput
        naming the parameter that is wrong."""
        raise InvalidInput("figure", _("该报表的数字没有明细"))

    def links_for(self, user: AbstractBaseUser | AnonymousUser, f: ReportFilter, table: Table) -> list[dict]:
        """``table.links`` as ``user`` may follow them: none where the records name readers and the user may
        not see readers (a table's figures all lead to one kind of records; its first link is asked)."""
        first = next((link for row in table.links for link in row.values()), None)
        if first is None or may_see_readers(user) or not self.records(f, first).personal:
            return table.links
        return [{} for _row in table.links]


def param(params: dict[str, str], name: str, choices: Iterable[str] | None = None) -> str:
    """A drill-down parameter, required; InvalidInput naming it when missing or not one of ``choices``."""
    value = params.get(name)
    if value is None:
        raise InvalidInput(name, _("缺少参数 %(name)s") % {"name": name})
    if choices is not None and value not in choices:
        raise InvalidInput(name, _("参数 %(name)s 应为 %(choices)s 之一") % {"name": name, "choices": "、".join(choices)})
    return value
