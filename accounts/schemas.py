from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, StringConstraints

from core.schema_types import SingleLine, StrictSchema, no_control_chars


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
    url: str = Field(description="https 订阅链接（含密钥，只显示这一次）")
    webcal_url: str
    google_url: str


class ReaderOut(Schema):
    """A reader as the desk sees them: who, where, how to reach them."""

    username: str
    display_name: str
    division: str
    card_number: str | None
    email: str
    phone: str
    label: str = Field(description="服务台显示的称呼，如 张明（民事审判庭 · judge1）")
