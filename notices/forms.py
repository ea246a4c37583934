"""The notice preference on /me: for each kind, the channels that deliver it, and the reader's chat robot."""

from django import forms
from django.utils.translation import gettext_lazy as _

from core.text import validate_single_line
from notices.channels import channels
from notices.models import DEFAULT_REMINDER, KIND_GROUPS, Notice, Reminder, validate_webhook_url


class NoticePreferenceForm(forms.Form):
    """One row of checkboxes per kind (the configured channels), grouped 借阅 and 活动; the robot URL when the
    webhook channel is offered; when registered events are reminded of (notices and the feed's alarms).  ``preference()`` gives what ``services.preference_update`` takes."""

    webhook_url = forms.CharField(
        label=_("机器人地址"), required=False, max_length=500, validators=[validate_single_line, validate_webhook_url],
        help_text=_("企业微信或政务微信群机器人的 Webhook 地址（群设置 → 群机器人 → 添加）；只有您能看到。"),
        widget=forms.URLInput(attrs={"class": "wide", "placeholder": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"}),
    )

    remind_before = forms.ChoiceField(
        label=_("活动开始前提醒"), choices=Reminder.choices, initial=DEFAULT_REMINDER, widget=forms.RadioSelect, required=False,
        help_text=_("报名的活动开始前何时提醒您：按上面“活动提醒”的渠道发通知，个人日历订阅里的闹钟也照此设置。"),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.offered = [(name, channel.label) for name, channel in channels().items()]
        #: The channels' column headings: (short label, full label).
        self.headings = [(channel.short_label, channel.label) for channel in channels().values()]
        robot = self.fields.pop("webhook_url")
        for kind in Notice.Kind:
            self.fields[kind.value] = forms.MultipleChoiceField(
                label=kind.label, choices=self.offered, required=False, widget=forms.CheckboxSelectMultiple)
        if "webhook" in dict(self.offered):
            self.fields["webhook_url"] = robot
        #: Columns of the table on /me: the kind, the notice list (always), then each channel.
        self.columns = len(self.offered) + 2

    @classmethod
    def for_current(cls, current) -> "NoticePreferenceForm":
        """The form showing ``current`` (``selectors.Preferences``)."""
        return cls(initial={**current.channels, "webhook_url": current.webhook_url,
                            "remind_before": current.remind_before})

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(label, [self[kind] for kind in kinds]) for _key, label, kinds in KIND_GROUPS]

    def preference(self) -> dict:
        """The cleaned choice as keyword arguments of ``preference_update`` (the robot URL kept as it is when the
        webhook channel is not offered, the reminder when none was sent)."""
        return {"channels": {kind: self.cleaned_data[kind] for kind in Notice.Kind.values},
                "webhook_url": self.cleaned_data.get("webhook_url"),
                "remind_before": self.cleaned_data.get("remind_before") or None}
