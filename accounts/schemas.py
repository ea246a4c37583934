from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from accounts.models import CalendarLink
from accounts.selectors import calendar_link_addresses
from core.schema_types import SingleLine, StrictSchema, VisibleName, no_control_chars


class TokenRequest(StrictSchema):
    username: SingleLine(150, 1)
    # Passwords are not stripped: spaces at either end are part of them.
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024), AfterValidator(no_control_chars)]
    name: SingleLine(64) = ""


class TokenOut(Schema):
    token: str


class TokenInfoOut(Schema):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class MeOut(Schema):
    username: str
    display_name: str
    division: str
    email: str
    phone: str
    roles: list[str]
    is_superuser: bool


class CalendarLinksOut(Schema):
    """The deprecated ``POST /me/calendar-token``'s answer: the link 日历订阅's addresses."""

    url: str = Field(description="https 订阅链接（含密钥；也可在 GET /me/calendar-links 再次查看）")
    webcal_url: str
    google_url: str
    outlook_url: str
    office365_url: str


class CalendarLinkIn(StrictSchema):
    name: VisibleName(64, 1) = Field(description="便于辨认的名称，如 手机、办公室 Outlook（不可含不可见字符或方向控制符）")
    scope: CalendarLink.Scope = Field(CalendarLink.Scope.MINE,
                                      description="mine：我的日程；all：全部活动（含院内活动）+ 我的日程")


class CalendarLinkPatch(StrictSchema):
    name: VisibleName(64, 1) | None = None
    scope: CalendarLink.Scope | None = None


class CalendarLinkOut(Schema):
    """One of my calendar links with its addresses (null for a link carried over from before several links,
    whose secret is not known: it keeps working, but cannot be shown again)."""

    id: int
    name: str
    scope: str
    scope_label: str
    created_at: datetime
    last_fetched_at: datetime | None = Field(description="日历应用最近一次获取（最多每几分钟记录一次）")
    showable: bool
    url: str | None
    webcal_url: str | None
    google_url: str | None
    outlook_url: str | None
    office365_url: str | None

    @staticmethod
    def resolve_scope_label(obj) -> str:
        return str(obj.get_scope_display())

    @staticmethod
    def _links(obj) -> dict:
        # One derivation per link and response, whichever field asks first.
        cached = getattr(obj, "_subscription_links", None)
        if cached is None:
            cached = calendar_link_addresses(obj)
            obj._subscription_links = cached
        return cached

    @staticmethod
    def resolve_url(obj) -> str | None:
        return CalendarLinkOut._links(obj).get("url")

    @staticmethod
    def resolve_webcal_url(obj) -> str | None:
        return CalendarLinkOut._links(obj).get("webcal_url")

    @staticmethod
    def resolve_google_url(obj) -> str | None:
        return CalendarLinkOut._links(obj).get("google_url")

    @staticmethod
    def resolve_outlook_url(obj) -> str | None:
        return CalendarLinkOut._links(obj).get("outlook_url")

    @staticmethod
    def resolve_office365_url(obj) -> str | None:
        return CalendarLinkOut._links(obj).get("office365_url")


class ReaderOut(Schema):
    """A reader as the desk sees them: who, where, how to reach them."""

    username: str
    display_name: str
    division: str
    card_number: str | None
    email: str
    phone: str
    label: str = Field(description="服务台显示的称呼，如 张明（民事审判庭 · judge1）")
