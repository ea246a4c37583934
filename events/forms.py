"""The organizer's event form: recurrence chosen in plain words (每周三, 每月第一个星期五) and turned into an RRULE."""

from datetime import datetime

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.text import validate_single_line
from events.models import Event, Venue
from events.recurrence import FIRST_YEAR, LAST_YEAR, first_instance, local_tz, parse_instant

WEEKDAYS = [("MO", _("星期一")), ("TU", _("星期二")), ("WE", _("星期三")), ("TH", _("星期四")), ("FR", _("星期五")),
            ("SA", _("星期六")), ("SU", _("星期日"))]
ORDINALS = [("1", _("第一个")), ("2", _("第二个")), ("3", _("第三个")), ("4", _("第四个")), ("-1", _("最后一个"))]
# <input type="date"> and "time" take ISO values whatever the page's language: the zh-hans date format
# (2026/12/16) left the edit form's date empty and unsavable (routine walk, 2026-12-06).
REPEAT = [("none", _("不重复")), ("weekly", _("每周")), ("monthly", _("每月"))]


class EventForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=200, validators=[validate_single_line])
    kind = forms.ChoiceField(label=_("类型"), choices=Event.Kind.choices)
    date = forms.DateField(label=_("日期（首次）"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    venue = forms.ModelChoiceField(label=_("场地"), queryset=Venue.objects.order_by("name"), required=False,
                                   empty_label=_("（线上或不占场地）"))
    capacity = forms.IntegerField(label=_("名额（留空取场地容纳人数）"), min_value=1, max_value=100000, required=False)
    description = forms.CharField(label=_("简介"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    repeat = forms.ChoiceField(label=_("重复"), choices=REPEAT, initial="none")
    ordinal = forms.ChoiceField(label=_("每月第几个"), choices=ORDINALS, required=False)
    weekday = forms.ChoiceField(label=_("星期"), choices=WEEKDAYS, required=False)
    count = forms.IntegerField(label=_("共几次（留空为长期）"), min_value=1, max_value=500, required=False)
    force = forms.BooleanField(label=_("场地有冲突也仍然安排"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("date") and not FIRST_YEAR <= data["date"].year <= LAST_YEAR:
            self.add_error("date", gettext("日期须在 %(first)s 至 %(last)s 年之间") % {"first": FIRST_YEAR, "last": LAST_YEAR})
        if self.errors:
            return data
        if data["end_time"] <= data["start_time"]:
            self.add_error("end_time", gettext("结束时间必须晚于开始时间"))
        if data["repeat"] != "none" and not data.get("weekday"):
            self.add_error("weekday", gettext("请选择星期"))
        return data

    def rrule(self) -> str:
        data = self.cleaned_data
        if data["repeat"] == "weekly":
            rule = f"FREQ=WEEKLY;BYDAY={data['weekday']}"
        elif data["repeat"] == "monthly":
            rule = f"FREQ=MONTHLY;BYDAY={data.get('ordinal') or '1'}{data['weekday']}"
        else:
            return ""
        if data.get("count"):
            rule += f";COUNT={data['count']}"
        return rule

    def plain_words(self) -> str:
        data = self.cleaned_data
        day = str(dict(WEEKDAYS).get(data.get("weekday") or "", ""))
        if data["repeat"] == "weekly":
            text = gettext("每%(weekday)s") % {"weekday": day} if day else gettext("每周")
        elif data["repeat"] == "monthly":
            text = gettext("每月%(ordinal)s%(weekday)s") % {"ordinal": dict(ORDINALS).get(data.get("ordinal") or "1"),
                                                      "weekday": day}
        else:
            return gettext("不重复")
        return text + (gettext("，共 %(count)s 次") % {"count": data["count"]} if data.get("count") else "")

    def times(self) -> tuple[datetime, datetime]:
        """Start and end of the first occurrence: the chosen date, or the rule's first day on or after it."""
        data = self.cleaned_data
        tz = local_tz()
        start = datetime.combine(data["date"], data["start_time"], tzinfo=tz)
        rule = self.rrule()
        if rule:
            start = first_instance(rule, start=start) or start
        end = datetime.combine(start.date(), data["end_time"], tzinfo=tz)
        return start, end


class CheckInForm(forms.Form):
    """A registration checked in from the attendee list."""

    registration = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class RegisterForm(forms.Form):
    """A registration from the event page: one occurrence (its ISO start), or the whole event when empty."""

    occurrence = forms.CharField(required=False, max_length=64)

    def clean_occurrence(self) -> datetime | None:
        value = self.cleaned_data["occurrence"].strip()
        if not value:
            return None
        try:
            return parse_instant(value, "occurrence")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from None


class OccurrenceActionForm(forms.Form):
    """The manage page's buttons: cancel the whole event, or cancel or move one occurrence."""

    ACTIONS = [("cancel-event", _("取消整个活动")), ("cancel-occurrence", _("取消这一场")),
               ("move-occurrence", _("改期"))]

    action = forms.ChoiceField(choices=ACTIONS)
    recurrence_id = forms.CharField(required=False, max_length=64)
    reason = forms.CharField(required=False)
    date = forms.DateField(required=False)
    time = forms.TimeField(required=False)
    force = forms.BooleanField(required=False)

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"][:200]

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action in ("cancel-occurrence", "move-occurrence"):
            try:
                data["recurrence_id"] = parse_instant(data.get("recurrence_id") or "", "recurrence_id")
            except InvalidInput as exc:
                self.add_error("recurrence_id", exc.detail)
        if action == "move-occurrence":
            if data.get("date") is None or data.get("time") is None:
                raise forms.ValidationError(gettext("日期或时间格式不对。"))
            try:
                # To the minute: a typed 10:00:00.999999 was stored as it was (attack round 15).
                moment = datetime.combine(data["date"], data["time"].replace(second=0, microsecond=0))
                data["new_start"] = parse_instant(moment, "date")
            except InvalidInput as exc:
                self.add_error("date", exc.detail)
        return data

    def first_error(self) -> str:
        return next(str(m) for errors in self.errors.values() for m in errors)


class EventListForm(forms.Form):
    """The events page's query string: ``kind``, ``view=month`` with ``month=YYYY-MM``, or the list from a
    day (``from=YYYY-MM-DD``) continued after a cursor (``after``).  A value that is not valid — a
    hand-edited or mangled link — is left out, and the page shows what it would without it."""

    kind = forms.ChoiceField(required=False, choices=Event.Kind.choices)
    view = forms.ChoiceField(required=False, choices=[("list", "list"), ("month", "month")])
    month = forms.RegexField(required=False, regex=r"^\d{4}-\d{1,2}$")
    after = forms.CharField(required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = forms.DateField(required=False, input_formats=["%Y-%m-%d"])  # a Python keyword

    def value(self, name: str):
        """The field's valid value, or None (empty or not valid)."""
        if name in self.errors:
            return None
        return self.cleaned_data.get(name) or None

    def clean_month(self):
        text = self.cleaned_data["month"]
        if not text:
            return None
        year, month = (int(part) for part in text.split("-"))
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            raise forms.ValidationError("month", code="invalid")
        return datetime(year, month, 1).date()

    def clean_after(self):
        from core.errors import DomainError
        from events.selectors import parse_cursor

        text = self.cleaned_data["after"]
        if not text:
            return None
        try:
            return parse_cursor(text)
        except DomainError:
            raise forms.ValidationError("after", code="invalid") from None

    def clean(self):
        cleaned = super().clean()
        day = cleaned.get("from")
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            self.add_error("from", forms.ValidationError("from", code="invalid"))
        return cleaned


class BulkOccurrencesForm(forms.Form):
    """The manage page's series actions on the ticked occurrences: cancel them (with a reason), or move them by
    a number of days and/or to another time of day, or — one occurrence — to another date."""

    ACTIONS = [("bulk-cancel", _("取消所选场次")), ("bulk-move", _("改期所选场次"))]

    action = forms.ChoiceField(choices=ACTIONS)
    occurrences = forms.MultipleChoiceField(choices=[], error_messages={"required": _("请至少选择一场。")})
    reason = forms.CharField(required=False, max_length=200, validators=[validate_single_line])
    shift_days = forms.IntegerField(required=False, min_value=-366, max_value=366)
    new_time = forms.TimeField(required=False)
    new_date = forms.DateField(required=False)
    force = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any value is accepted here; the service tells which are not occurrences of the series.
        self.fields["occurrences"].valid_value = lambda value: True

    def clean_occurrences(self) -> list[datetime]:
        values = self.cleaned_data["occurrences"]
        try:
            return [parse_instant(v, "occurrences") for v in values[:101]]
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from None

    def clean_new_date(self):
        day = self.cleaned_data["new_date"]
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise forms.ValidationError(gettext("日期须在 %(first)s 至 %(last)s 年之间") % {"first": FIRST_YEAR, "last": LAST_YEAR})
        return day

    def first_error(self) -> str:
        return next(str(m) for errors in self.errors.values() for m in errors)


class AttendanceForm(forms.Form):
    """The attendees page's check-in actions: a scanned (or typed) personal code, a row's button, an undo."""

    ACTIONS = [("scan", "scan"), ("check-in", "check-in"), ("undo", "undo")]

    action = forms.ChoiceField(choices=ACTIONS)
    occurrence = forms.CharField(required=False, max_length=64)
    code = forms.CharField(required=False, max_length=200)
    registration = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    attendance = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    walk_in = forms.BooleanField(required=False)

    def clean_occurrence(self) -> datetime | None:
        value = self.cleaned_data["occurrence"].strip()
        if not value:
            return None
        try:
            return parse_instant(value, "occurrence")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from None

    def first_error(self) -> str:
        return next(str(m) for errors in self.errors.values() for m in errors)
