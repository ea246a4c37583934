"""The one filter every report reads: a date range, a location, a division, and the few options some reports
take (a grouping, a CLC class, how many rows a ranking lists: ``top``).

Pages and the API validate it with the same form (``FilterForm``): the page shows the form's errors beside the
fields, the API answers 422 naming each field (``filter_from``).  A report lists which options it uses
(``Report.options``); the others are accepted and ignored, so one query string serves every report.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Profile, Role
from library.models import Location
from library.policy import library_today
from library.validators import normalize_clc

#: The longest range a report covers: five years, so one request cannot ask for a century of months.
MAX_DAYS = 5 * 366
#: Groupings of the circulation figures.
BY_CHOICES = (("location", _("馆藏地")), ("division", _("部门")), ("role", _("读者角色")))
#: The earliest date a filter may name: the library may enter old history, but no court lent books before 1900,
#: and a date near year 1 or 9999 overflows once a day or a year is added to it, or once put in UTC.
MIN_DATE = date(1900, 1, 1)
#: How far past today a filter may reach (events are scheduled ahead; nothing is counted further on).
MAX_AHEAD = timedelta(days=366)
#: Rankings list at most this many rows (``top``).
MAX_TOP = 100
DEFAULT_TOP = 20
#: The group small divisions are merged into (``ReportFilter.merged``): a key no division has (one character that
#: is not a name), shown as "其他部门".
OTHER_DIVISIONS = "*"


def small_divisions(minimum: int) -> frozenset[str]:
    """The divisions (as ``Profile.division`` names them; "" for none) with fewer than ``minimum`` active
    accounts, and, when those together still have fewer than ``minimum`` people (one division of one person
    alone: its row "其他部门" would be that person's reading), the next smallest divisions until they have at
    least ``minimum`` (or every division is merged).  One grouped query.

    Every division an account names is sized, inactive accounts' too, as ``divisions()`` offers them: one whose
    people have all left has no active member, so it is small (its loans are still counted, under it)."""
    if minimum <= 1:
        return frozenset()
    sizes = sorted((n, division) for division, n in (
        get_user_model().objects
        .annotate(_division=Coalesce(F("profile__division"), Value(""), output_field=CharField()))
        .values("_division").annotate(n=Count("pk", filter=Q(is_active=True)))
        .values_list("_division", "n").order_by()))
    merged, people = set(), 0
    for n, division in sizes:
        if n >= minimum and (not merged or people >= minimum):
            break
        merged.add(division)
        people += n
    return frozenset(merged)


#: Roles in the order a reader with several is counted under (each loan counts once, under the first).
ROLE_ORDER = (Role.JUDGE, Role.LIBRARIAN, Role.ORGANIZER, Role.MANAGER)


def role_value(user_path: str, merged: frozenset[str] = frozenset()):
    """The reader's role as text (``judge`` …, "" for none), from their groups (one EXISTS per role), or
    ``OTHER_DIVISIONS`` (shown "其他角色") for the roles in ``merged``."""
    through = get_user_model().groups.through

    def shown(code: str) -> Value:
        return Value(OTHER_DIVISIONS if code in merged else code)

    whens = [When(Exists(through.objects.filter(user_id=OuterRef(user_path), group__name=role.value)),
                  then=shown(role.value)) for role in ROLE_ORDER]
    return Case(*whens, default=shown(""), output_field=CharField())


def small_roles(minimum: int, division: str | None = None) -> frozenset[str]:
    """The roles (as ``role_value`` gives them; "" for none) of fewer than ``minimum`` active accounts — the court's
    few leaders, its one administrator — topped up with the next smallest as ``small_divisions`` does, so that
    grouped by role no row (其他角色 included) is one or two people's reading.  One grouped query.

    With ``division`` (a report narrowed to one division: ``division=X&by=role``) the roles are sized among that
    division's people, as its rows count them: a role large in the court may be one person in the division (its
    head, a leader) — counted court-wide, that row was the person's reading."""
    if minimum <= 1:
        return frozenset()
    people = get_user_model().objects.filter(is_active=True)
    if division is not None:
        people = people.filter(profile__division=division)
    sizes = sorted((n, role) for role, n in (
        people.annotate(_role=role_value("pk")).values("_role").annotate(n=Count("pk"))
        .values_list("_role", "n").order_by()))
    merged, people = set(), 0
    for n, role in sizes:
        if n >= minimum and (not merged or people >= minimum):
            break
        merged.add(role)
        people += n
    return frozenset(merged)


def division_value(path: str, merged: frozenset[str] = frozenset()):
    """The division at ``path`` (``patron__profile__division``; "" without one), or ``OTHER_DIVISIONS`` for the
    divisions in ``merged``: grouping by it merges the small divisions into one row, in the database."""
    value = Coalesce(F(path), Value(""), output_field=CharField())
    if not merged:
        return value
    small = Q(**{f"{path}__in": sorted(d for d in merged if d)})
    if "" in merged:
        small |= Q(**{f"{path}__isnull": True}) | Q(**{path: ""})
    return Case(When(small, then=Value(OTHER_DIVISIONS)), default=value, output_field=CharField())


def person_division(person: str, f: "ReportFilter"):
    """The division of the person at the path ``person`` (``patron``, ``user``; "" when the rows are the users),
    small divisions merged for ``f``: what a report groups people's figures by and filters them on."""
    return division_value(f"{person}__profile__division" if person else "profile__division", f.merged)


def in_division(rows: QuerySet, person: str, f: "ReportFilter") -> QuerySet:
    """``rows`` of the people (at the path ``person``) of ``f.division``; all of them when there is none."""
    if f.division is None:
        return rows
    return rows.annotate(_division=person_division(person, f)).filter(_division=f.division)


def division_rows(entries: Iterable[dict], then: Callable[[dict], Any] | None = None) -> list[tuple[str, dict]]:
    """Rows of a query grouped by ``_division`` (``person_division``) in the order division rows are shown — by
    label, the merged small divisions last; ``then`` orders the rows of one division — each with its label."""
    ordered = sorted(entries, key=lambda e: (division_key(e["_division"]), then(e) if then else 0))
    return [(division_label(e["_division"]), e) for e in ordered]


def division_label(value: str) -> str:
    if value == OTHER_DIVISIONS:
        return gettext("其他部门")
    return value or gettext("（未填部门）")


def division_key(value: str) -> tuple[bool, str]:
    """How division rows are ordered: by label (in Python: SQLite and PostgreSQL collate Chinese differently),
    the merged small divisions last."""
    return value == OTHER_DIVISIONS, division_label(value)


def library_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def day_start(day: date) -> datetime:
    """The first instant of ``day`` in library time (aware)."""
    return datetime.combine(day, time.min, tzinfo=library_tz())


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def year_before(day: date) -> date:
    """The same day a year earlier (29 February → 28 February)."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class ReportFilter:
    """What a report counts: ``start``–``end`` (dates in library time, both included), optionally only one
    location (by its name, as copies name it) and one division (``Profile.division``)."""

    start: date
    end: date
    location: Location | None = None
    division: str | None = None
    by: str = "location"
    clc: str = ""
    top: int = DEFAULT_TOP
    today: date = field(default_factory=library_today)
    #: Divisions counted together as "其他部门" (``small_divisions``): empty for librarians.
    merged: frozenset[str] = frozenset()
    #: Roles counted together as "其他角色" (``small_roles``, sized within ``division`` when there is one) when
    #: grouped by role: empty for librarians.
    merged_roles: frozenset[str] = frozenset()
    #: The fewest people the viewer sees a figure of (``reports.base.min_group``): 0 for librarians.  Figures of
    #: fewer (a session's few attendees) are blank.
    min_group: int = 0

    @property
    def since(self) -> datetime:
        """The range's first instant (aware, library time)."""
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """The instant after the range (exclusive bound)."""
        return day_start(self.end + timedelta(days=1))

    def months(self) -> list[date]:
        """The first day of every month the range touches, in order."""
        months, month = [], month_start(self.start)
        while month <= self.end:
            months.append(month)
            month = add_months(month, 1)
        return months

    def last_year(self) -> "ReportFilter":
        """The same range a year earlier (the trend columns)."""
        return ReportFilter(start=year_before(self.start), end=year_before(self.end), location=self.location,
                            division=self.division, by=self.by, clc=self.clc, top=self.top, today=self.today,
                            merged=self.merged, merged_roles=self.merged_roles, min_group=self.min_group)

    def query(self) -> dict[str, str]:
        """The filter as query parameters (links to exports and to the records behind a figure)."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.location is not None:
            params["location"] = self.location.code
        if self.division is not None:
            params["division"] = self.division
        if self.by != "location":
            params["by"] = self.by
        if self.clc:
            params["clc"] = self.clc
        if self.top != DEFAULT_TOP:
            params["top"] = str(self.top)
        return params


def default_range(today: date) -> tuple[date, date]:
    """Twelve months: the first of the month eleven months ago to today."""
    return add_months(today, -11), today


def divisions() -> list[str]:
    """The divisions people belong to (one DISTINCT over profiles), in order."""
    return list(Profile.objects.exclude(division="").order_by("division").values_list("division", flat=True)
                .distinct())


class DivisionField(forms.ChoiceField):
    """The divisions offered; ``unlisted`` ones exist but are not offered (the small divisions a user sees only
    merged), so a URL naming one is refused with its reason (``FilterForm.clean_division``), not as unknown."""

    unlisted: frozenset[str] = frozenset()

    def valid_value(self, value) -> bool:
        return value in self.unlisted or super().valid_value(value)


class FilterForm(forms.Form):
    """The filter as a form: ``from`` and ``to`` (YYYY-MM-DD), ``location`` (a code), ``division``, ``by``,
    ``clc``, ``top``.  Empty dates default to the last twelve months."""

    location = forms.ModelChoiceField(label=_("馆藏地"), queryset=Location.objects.all(), to_field_name="code",
                                      required=False, empty_label=_("全部馆藏地"),
                                      error_messages={"invalid_choice": _("没有代码为该值的馆藏地")})
    division = DivisionField(label=_("部门"), required=False,
                             error_messages={"invalid_choice": _("没有人属于部门 %(value)s")})
    by = forms.ChoiceField(label=_("分组"), choices=BY_CHOICES, required=False)
    clc = forms.CharField(label=_("中图法分类"), max_length=32, required=False,
                          help_text=_("分类号前缀，例如 D9 或 D923"))
    top = forms.IntegerField(label=_("排行条数"), min_value=1, max_value=MAX_TOP, required=False)

    def __init__(self, *args, today: date | None = None, min_group: int = 0, **kwargs) -> None:
        """``min_group``: the fewest people a viewer sees counted as a group (``reports.base.min_group``: 0 for
        librarians); smaller divisions and roles are merged (``small_divisions``, ``small_roles``)."""
        super().__init__(*args, **kwargs)
        self.today = today or library_today()
        self.min_group = min_group
        merged = self.merged = small_divisions(min_group)
        # "from" is a keyword in Python: the two dates are declared here, first in the form.
        dates = {
            "from": forms.DateField(label=_("开始日期"), required=False, input_formats=["%Y-%m-%d"],
                                    widget=forms.DateInput(attrs={"type": "date"})),
            "to": forms.DateField(label=_("结束日期"), required=False, input_formats=["%Y-%m-%d"],
                                  widget=forms.DateInput(attrs={"type": "date"})),
        }
        self.fields = {**dates, **self.fields}
        known = divisions()
        self.fields["division"].choices = [("", _("全部部门")), *((d, d) for d in known if d not in merged)]
        self.fields["division"].unlisted = frozenset(d for d in known if d in merged)

    def clean_division(self) -> str:
        value = self.cleaned_data.get("division") or ""
        if value and value in self.merged:
            raise ValidationError(_("部门 %(value)s 人数太少，其数字计入“其他部门”"), params={"value": value})
        return value

    def clean_clc(self) -> str:
        text = (self.cleaned_data.get("clc") or "").strip()
        if not text:
            return ""
        try:
            return normalize_clc(text)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from None

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        start, end = data.get("from"), data.get("to")
        latest = self.today + MAX_AHEAD
        for name, day in (("from", start), ("to", end)):
            if day is not None and not MIN_DATE <= day <= latest:
                self.add_error(name, _("日期应在 %(min)s 至 %(max)s（今天之后一年）之间") % {
                    "min": MIN_DATE.isoformat(), "max": latest.isoformat()})
        if self.errors:
            return data
        default_start, default_end = default_range(self.today)
        end = end or default_end
        start = start or (default_start if data.get("to") is None else max(MIN_DATE, add_months(end, -11)))
        if end < start:
            self.add_error("to", _("结束日期早于开始日期"))
        elif (end - start).days >= MAX_DAYS:
            self.add_error("to", _("时间范围最长五年"))
        data["from"], data["to"] = start, end
        return data

    def report_filter(self) -> ReportFilter:
        """The validated filter (call after ``is_valid()`` returned True)."""
        data = self.cleaned_data
        division = data.get("division") or None
        return ReportFilter(start=data["from"], end=data["to"], location=data.get("location"),
                            division=division, by=data.get("by") or "location",
                            clc=data.get("clc") or "", top=data.get("top") or DEFAULT_TOP, today=self.today,
                            merged=self.merged, merged_roles=small_roles(self.min_group, division),
                            min_group=self.min_group)
