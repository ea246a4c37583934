from datetime import datetime

from ninja import Field, Schema

from core.schema_types import Id


class NoticeOut(Schema):
    id: int
    kind: str
    kind_label: str = Field(description="类型的名称（按 Accept-Language）")
    about: str = Field(description="所涉记录，如 loan:12、hold:7、registration:5")
    subject: str
    body: str
    created_at: datetime
    sent_at: datetime | None = Field(description="邮件发出的时间（读者没有邮箱时为空）")
    read_at: datetime | None

    @staticmethod
    def resolve_kind_label(obj) -> str:
        return str(obj.get_kind_display())


class NoticeFilters(Schema):
    unread: bool | None = Field(None, description="true：只看未读；false：只看已读")


class MarkReadIn(Schema):
    ids: list[Id] | None = Field(None, max_length=500, description="要标为已读的通知；省略或 null 为全部")


class MarkReadOut(Schema):
    marked: int = Field(description="这次标为已读的条数")
    unread: int = Field(description="仍未读的条数")
