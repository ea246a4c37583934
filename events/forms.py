"""The organizer's event form: recurrence chosen in plain words (每周三, 每月第一个周五) and turned into an RRULE,
speakers, reading list, place, registration and visibility, grouped as the page shows them."""

from datetime import UTC, datetime

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.errors import InvalidInput
from core.text import validate_single_line
from events.models import Event, Venue
from events.recurrence import (
    FIRST_YEAR,
    LAST_YEAR,
    first_instance,
    local_tz,
    parse_instant,
    rule_in_words,
    until_utc,
)
from library.models import Book, Paper

WEEKDAYS = [("MO", _("星期一")), ("TU", _("星期二")), ("WE", _("星期三")), ("TH", _("星期四")), ("FR", _("星期五")),
            ("SA", _("星期六")), ("SU", _("星期日"))]
ORDINALS = [("1", _("第一个")), ("2", _("第二个")), ("3", _("第三个")), ("4", _("第四个")), ("-1", _("最后一个"))]
# <input type="date"> and "time" take ISO values whatever the page's language: the zh-hans date format
# (2026/12/16) left the edit form's date empty and unsavable (routine walk, 2026-12-06).
REPEAT = [("none", _("不重复")), ("daily", _("每天")), ("weekly", _("每周")), ("monthly", _("每月"))]
#: <input type="datetime-local"> sends 2027-01-06T19:00 (the registration window).
LOCAL_DATETIME = "%Y-%m-%dT%H:%M"


class IdListField(forms.Field):
    """Ids of books or papers, one per hidden input (the reading list's chips); a value may also hold several
    ("3, 5 8").  Unknown ids are refused, and so is a list longer than ``MAX_IDS`` (the API's limit) — counted
    before anything is parsed: ``books="1 2 3 … 300000"`` held a worker past its timeout (attack round 17)."""

    widget = forms.MultipleHiddenInput
    #: As the API's ``books``/``papers`` (events.schemas.EventIn).
    MAX_IDS = 100
    #: Characters a value may take per id: 18 digits and a separator or two.
    CHARS_PER_ID = 20

    def __init__(self, *, model, **kwargs):
        self.model = model
        super().__init__(required=False, **kwargs)

    def _too_many(self) -> forms.ValidationError:
        return forms.ValidationError(
            gettext("%(field)s最多 %(max)s 项") % {"field": self.label, "max": self.MAX_IDS}, code="too_many")

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, list | tuple) else [value] if value else []
        # The raw size first: splitting and converting a huge value is the cost to avoid.
        if len(values) > self.MAX_IDS or sum(len(str(item)) for item in values) > self.MAX_IDS * self.CHARS_PER_ID:
            raise self._too_many()
        pieces = [piece for item in values for piece in str(item).replace("，", ",").replace(",", " ").split()]
        if len(pieces) > 2 * self.MAX_IDS:  # a repeated id is forgiven, within reason
            raise self._too_many()
        ids: dict[int, None] = {}  # ordered, and a set's cost to look up
        for piece in pieces:
            if not (piece.isascii() and piece.isdigit()) or len(piece) > 18:
                raise forms.ValidationError(gettext("不是有效的编号：%(value)s") % {"value": piece[:20]}, code="invalid")
            ids[int(piece)] = None
        if len(ids) > self.MAX_IDS:
            raise self._too_many()
        return list(ids)

    def validate(self, value: list[int]) -> None:
        found = set(self.model.objects.filter(pk__in=value).values_list("pk", flat=True))
        missing = [pk for pk in value if pk not in found]
        if missing:
            raise forms.ValidationError(gettext("找不到编号为 %(ids)s 的条目") % {"ids": "、".join(map(str, missing))},
                                        code="unknown")


class OccurrenceField(forms.CharField):
    """An occurrence's original start in ISO 8601 (``parse_instant``'s rules), or None when left empty (a one-off
    event, or the whole series)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=64, **kwargs)

    def clean(self, value) -> datetime | None:
        text = super().clean(value)
        if not text:
            return None
        try:
            return parse_instant(text, "occurrence")
        except InvalidInput as exc:
            raise forms.ValidationError(exc.detail) from None


class EventForm(forms.Form):
    """Everything an organizer sets on an event, grouped as the page shows it (``GROUPS``).  ``creating``
    refuses a start that has passed (an event being edited may have begun long ago)."""

    # 基本信息
    title = forms.CharField(label=_("标题"), max_length=200, validators=[validate_single_line])
    kind = forms.ChoiceField(label=_("类型"), choices=Event.Kind.choices)
    description = forms.CharField(label=_("简介"), widget=forms.Textarea(attrs={"rows": 3}), required=False)
    # 时间与重复
    repeat = forms.ChoiceField(label=_("重复"), choices=REPEAT, initial="none")
    date = forms.DateField(label=_("日期（首次）"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    start_time = forms.TimeField(label=_("开始时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    end_time = forms.TimeField(label=_("结束时间"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    weekdays = forms.MultipleChoiceField(label=_("每周的哪几天"), choices=WEEKDAYS, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    ordinal = forms.ChoiceField(label=_("每月第几个"), choices=ORDINALS, required=False)
    weekday = forms.ChoiceField(label=_("星期"), choices=WEEKDAYS, required=False)
    count = forms.IntegerField(label=_("共几次（留空为长期）"), min_value=1, max_value=500, required=False)
    until = forms.DateField(label=_("或截止日期"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    # 场地
    venue = forms.ModelChoiceField(label=_("场地"), queryset=Venue.objects.order_by("name"), required=False,
                                   empty_label=_("（线上或不占场地）"))
    online_url = forms.URLField(label=_("线上会议链接"), max_length=500, required=False, assume_scheme="https",
                                widget=forms.URLInput(attrs={"placeholder": "https://"}))
    # 报名
    registration_required = forms.BooleanField(label=_("需要报名"), required=False, initial=True)
    capacity = forms.IntegerField(label=_("名额（留空取场地容纳人数）"), min_value=1, max_value=100000, required=False)
    registration_opens = forms.DateTimeField(
        label=_("报名开始（可选）"), required=False, input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME))
    registration_closes = forms.DateTimeField(
        label=_("报名截止（可选）"), required=False, input_formats=[LOCAL_DATETIME, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_DATETIME))
    # 可见范围
    visibility = forms.ChoiceField(label=_("可见范围"), choices=Event.Visibility.choices, required=False,
                                   initial=Event.Visibility.PUBLIC, widget=forms.RadioSelect)
    # 阅读书目: the chips' hidden inputs, and the box that finds titles to add
    books = IdListField(model=Book, label=_("图书"))
    papers = IdListField(model=Paper, label=_("调研成果"))
    reading_q = forms.CharField(label=_("查找图书或调研成果"), required=False, max_length=200,
                                widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}))
    # Shown beside a venue conflict only.
    force = forms.BooleanField(label=_("仍然安排"), required=False)

    #: The groups of the page, each a fieldset with its legend; the fields of 时间与重复 that only some
    #: frequencies use sit in nested fieldsets (``REPEAT_PARTS``) that static/event_form.js hides.
    GROUPS = [
        ("basic", _("基本信息"), ["title", "kind", "description"]),
        ("time", _("时间与重复"), ["repeat", "date", "start_time", "end_time"]),
        ("venue", _("场地"), ["venue", "online_url"]),
        ("registration", _("报名"), ["registration_required", "capacity", "registration_opens", "registration_closes"]),
        ("visibility", _("可见范围"), ["visibility"]),
    ]
    #: Nested fieldsets of 时间与重复: (id, legend, the frequencies that use it, fields).
    REPEAT_PARTS = [
        ("weekly", _("每周重复时"), "weekly", ["weekdays"]),
        ("monthly", _("每月重复时"), "monthly", ["ordinal", "weekday"]),
        ("ends", _("重复多久"), "daily weekly monthly", ["count", "until"]),
    ]

    #: Set for a press that only changes the page (the reading list without script): no errors shown yet.
    quiet = False

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.creating = creating

    def groups(self) -> list[dict]:
        """The fieldsets as the template draws them."""
        out = []
        for key, legend, names in self.GROUPS:
            parts = []
            if key == "time":
                parts = [{"key": k, "legend": lg, "repeat": repeat, "fields": [self[n] for n in fields]}
                         for k, lg, repeat, fields in self.REPEAT_PARTS]
            out.append({"key": key, "legend": legend, "fields": [self[n] for n in names], "parts": parts})
        return out

    def clean_visibility(self) -> str:
        return self.cleaned_data["visibility"] or (self.initial.get("visibility") or Event.Visibility.PUBLIC)

    def clean(self):
        data = super().clean()
        for name in ("date", "until"):
            if data.get(name) and not FIRST_YEAR <= data[name].year <= LAST_YEAR:
                self.add_error(name, gettext("日期须在 %(first)s 至 %(last)s 年之间") % {"first": FIRST_YEAR, "last": LAST_YEAR})
        if self.errors:
            return data
        if data["end_time"] <= data["start_time"]:
            self.add_error("end_time", gettext("结束时间必须晚于开始时间"))
        repeat = data["repeat"]
        if repeat == "weekly" and not data.get("weekdays"):
            if data.get("weekday"):  # a page from before the weekly checkboxes
                data["weekdays"] = [data["weekday"]]
            else:
                self.add_error("weekdays", gettext("请选择星期几"))
        if repeat == "monthly" and not data.get("weekday"):
            self.add_error("weekday", gettext("请选择星期"))
        if repeat != "none" and data.get("count") and data.get("until"):
            self.add_error("until", gettext("“共几次”与“截止日期”只填一项"))
        if repeat != "none" and data.get("until") and data["until"] < data["date"]:
            self.add_error("until", gettext("截止日期早于首次日期"))
        opens, closes = data.get("registration_opens"), data.get("registration_closes")
        if opens and closes and closes <= opens:
            self.add_error("registration_closes", gettext("报名截止须晚于报名开始"))
        if self.errors:
            return data
        start, _end = self.times()
        if self.creating and start < timezone.now():
            self.add_error("date", gettext("开始时间已过"))
        return data

    def rrule(self) -> str:
        data = self.cleaned_data
        repeat = data["repeat"]
        if repeat == "daily":
            rule = "FREQ=DAILY"
        elif repeat == "weekly":
            days = sorted(set(data.get("weekdays") or [data.get("weekday") or "MO"]), key=[d for d, _ in WEEKDAYS].index)
            rule = f"FREQ=WEEKLY;BYDAY={','.join(days)}"
        elif repeat == "monthly":
            rule = f"FREQ=MONTHLY;BYDAY={data.get('ordinal') or '1'}{data['weekday']}"
        else:
            return ""
        if data.get("count"):
            rule += f";COUNT={data['count']}"
        elif data.get("until"):
            rule += f";UNTIL={data['until']:%Y%m%d}"
        return rule

    def plain_words(self) -> str:
        """The rule in words with its time: 每周三 19:00，共 8 次."""
        rule = self.rrule()
        return rule_in_words(rule, self.times()[0]) if rule else gettext("不重复")

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


def form_repeat(rrule: str) -> dict | None:
    """The form's repeat fields for a stored rule, or None when the form cannot express it exactly (a rule
    with INTERVAL, BYMONTHDAY …, or an UNTIL that is not the end of a day in library time)."""
    if not rrule:
        return {"repeat": "none"}
    parts = dict(part.split("=", 1) for part in rrule.upper().split(";") if "=" in part)
    if set(parts) - {"FREQ", "BYDAY", "COUNT", "UNTIL"}:
        return None
    days = [d for d in parts.get("BYDAY", "").split(",") if d]
    out: dict = {}
    if parts.get("FREQ") == "DAILY" and not days:
        out["repeat"] = "daily"
    elif parts.get("FREQ") == "WEEKLY" and days and all(d in dict(WEEKDAYS) for d in days):
        out.update(repeat="weekly", weekdays=days)
    elif (parts.get("FREQ") == "MONTHLY" and len(days) == 1 and days[0][-2:] in dict(WEEKDAYS)
          and (days[0][:-2] or "1") in dict(ORDINALS)):
        out.update(repeat="monthly", weekday=days[0][-2:], ordinal=days[0][:-2] or "1")
    else:
        return None
    if "COUNT" in parts:
        if not (parts["COUNT"].isascii() and parts["COUNT"].isdigit()):
            return None
        out["count"] = int(parts["COUNT"])
    elif "UNTIL" in parts:
        try:
            until = datetime.strptime(until_utc(parts["UNTIL"]), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except (ValueError, OverflowError):
            return None
        day = until.astimezone(local_tz()).date()
        if until_utc(f"{day:%Y%m%d}") != until_utc(parts["UNTIL"]):
            return None  # saved again as that day it would mean a later end: kept as it is
        out["until"] = day
    return out


class SpeakerForm(forms.Form):
    """One row of 主讲/主持: a name, a role, and optionally the account of a colleague."""

    name = forms.CharField(label=_("姓名"), max_length=100, validators=[validate_single_line])
    role = forms.CharField(label=_("身份"), max_length=50, required=False, validators=[validate_single_line],
                           widget=forms.TextInput(attrs={"placeholder": _("例如 主讲人、主持人")}))
    user = forms.CharField(label=_("账号（可选）"), max_length=150, required=False)

    def clean_user(self) -> str:
        username = self.cleaned_data["user"].strip()
        if username and not get_user_model().objects.filter(username=username, is_active=True).exists():
            raise forms.ValidationError(gettext("用户不存在：%(user)s") % {"user": username}, code="unknown_user")
        return username


SpeakerFormSet = forms.formset_factory(SpeakerForm, extra=1, can_delete=True, max_num=20, absolute_max=20,
                                       validate_max=True)


class CheckInForm(forms.Form):
    """A registration checked in from the attendee list."""

    registration = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class RegisterForm(forms.Form):
    """A registration from the event page: one occurrence (its ISO start), or the whole event when empty."""

    occurrence = OccurrenceField()


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

    ACTIONS = [("bulk-cancel", _("取消所选场次")), ("bulk-move", _("改期所选场次")),
               ("bulk-change", _("修改这一场的场地或标题"))]

    action = forms.ChoiceField(choices=ACTIONS)
    occurrences = forms.MultipleChoiceField(choices=[], error_messages={"required": _("请至少选择一场。")})
    reason = forms.CharField(required=False, max_length=200, validators=[validate_single_line])
    shift_days = forms.IntegerField(required=False, min_value=-366, max_value=366)
    new_time = forms.TimeField(required=False)
    new_date = forms.DateField(required=False)
    # One occurrence's own venue ("": unchanged, "online") and title ("": unchanged).
    new_venue = forms.RegexField(required=False, regex=r"^(online|[0-9]{1,12})$")
    new_title = forms.CharField(required=False, max_length=200, validators=[validate_single_line])
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
    occurrence = OccurrenceField()
    code = forms.CharField(required=False, max_length=200)
    registration = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    attendance = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    walk_in = forms.BooleanField(required=False)

    def first_error(self) -> str:
        return next(str(m) for errors in self.errors.values() for m in errors)
