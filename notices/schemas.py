from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import StringConstraints

from core.schema_types import Id, SingleLine, StrictSchema


class DeliveryOut(Schema):
    channel: str = Field(description="渠道：email、sms、webhook……")
    channel_label: str = Field(description="渠道的名称（按 Accept-Language）")
    status: str = Field(description="pending 待发送（含失败后等待重试）、sent 已发送、failed 发送失败、skipped 未发送（没有该渠道的联系方式）")
    status_label: str
    sent_at: datetime | None

    @staticmethod
    def resolve_status_label(obj) -> str:
        return str(obj.get_status_display())


class NoticeOut(Schema):
    id: int
    kind: str
    kind_label: str = Field(description="类型的名称（按 Accept-Language）")
    about: str = Field(description="所涉记录，如 loan:12、hold:7、registration:5")
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None = Field(description="各渠道都已处理完的时间（发出、跳过或放弃）；未处理完时为空")
    read_at: datetime | None
    deliveries: list[DeliveryOut] = Field(description="经各渠道的投递（站内通知列表之外）")

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return list(obj.deliveries.all())


class NoticeFilters(Schema):
    unread: bool | None = Field(None, description="true：只看未读；false：只看已读")


class MarkReadIn(Schema):
    ids: list[Id] | None = Field(None, max_length=500, description="要标为已读的通知；省略或 null 为全部")


class MarkReadOut(Schema):
    marked: int = Field(description="这次标为已读的条数")
    unread: int = Field(description="仍未读的条数")


ChannelName = Annotated[str, StringConstraints(max_length=16)]
KindName = Annotated[str, StringConstraints(max_length=32)]


class NoticePreferencesIn(StrictSchema):
    channels: dict[KindName, Annotated[list[ChannelName], Field(max_length=10)]] = Field(
        max_length=20, description="每类通知经哪些渠道送达，如 {\"overdue\": [\"email\", \"sms\"]}；省略的类型用默认（email）；[] 为只在站内通知列表")
    webhook_url: SingleLine(500) = Field("", description="企业微信/政务微信群机器人的 Webhook 地址；空为不设")
    remind_before: Annotated[str, StringConstraints(max_length=8)] | None = Field(
        None, description="报名的活动何时提醒（通知与个人日历订阅的闹钟）：none 不提醒、day 提前一天、hour 提前一小时、"
                          "both 两者；省略则不变（未设过为 day）")


class ChannelOut(Schema):
    name: str
    label: str


class KindOut(Schema):
    kind: str
    label: str
    group: str = Field(description="loans 借阅 或 events 活动")
    group_label: str


class ReminderOut(Schema):
    name: str
    label: str


class NoticePreferencesOut(Schema):
    channels: dict[str, list[str]] = Field(description="每类通知的渠道（所有类型；站内通知列表总会收到）")
    webhook_url: str
    remind_before: str = Field(description="报名的活动何时提醒：none、day、hour 或 both（见 remind_before_choices）")
    available: list[ChannelOut] = Field(description="本馆可选的渠道")
    kinds: list[KindOut] = Field(description="通知类型及其分组")
    remind_before_choices: list[ReminderOut] = Field(description="活动提醒的选项")
