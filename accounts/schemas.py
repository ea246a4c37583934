from datetime import datetime
from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, StringConstraints


class TokenRequest(Schema):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=150)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    name: Annotated[str, StringConstraints(max_length=64)] = ""


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
