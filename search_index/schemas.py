from datetime import date
from typing import Literal

from ninja import Field, Schema

from core.schema_types import Text


class SearchQuery(Schema):
    q: Text(2000) = Field(
        "",
        description='查询：中文、繁体、拼音（全拼/首字母）、蒙古文、英文、ISBN；支持 "短语"、title:、author:、-排除词、clc:D92',
    )
    type: Literal["book", "paper"] | None = None
    language: Text(8) | None = None
    year_from: int | None = Field(None, ge=0, le=9999)
    year_to: int | None = Field(None, ge=0, le=9999)
    clc: Text(32) | None = Field(None, description="中图法分类号前缀，例如 D92")
    available: bool | None = Field(None, description="true：只看在架图书")
    sort: Literal["relevance", "year", "-year"] = "relevance"
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10000)


class SearchHitOut(Schema):
    type: str
    id: int
    title: str
    authors: list[str]
    year: int | None
    score: float
    available_copies: int
    total_copies: int
    earliest_due: date | None = Field(description="借出时最早的应还日期（在借复本中）")
    holds_waiting: int = Field(description="排队预约人数")
    highlights: dict[str, str]


class SearchOut(Schema):
    count: int
    items: list[SearchHitOut]
    facets: dict[str, dict[str, int]]
    suggestion: str | None
    matched_all_terms: bool
