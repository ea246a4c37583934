from typing import Literal

from ninja import Field, Schema

from core.schema_types import Text
from search_index.searcher import Hit


class SearchQuery(Schema):
    q: Text(2000) = Field(
        "",
        description='查询：中文、繁体、拼音（全拼/首字母）、蒙古文、英文、ISBN、索书号（D923.6/12）或分类号（D923.6）；'
        '支持 "短语"、title:、author:、-排除词、clc:D92',
    )
    type: Literal["book", "paper"] | None = None
    language: Text(8) | None = None
    year_from: int | None = Field(None, ge=0, le=9999)
    year_to: int | None = Field(None, ge=0, le=9999)
    clc: Text(32) | None = Field(None, description="中图法分类号前缀，例如 D92")
    available: bool | None = Field(None, description="true：只看在架图书")
    sort: Literal["relevance", "year", "-year", "call_number"] = Field(
        "relevance", description="relevance 相关度（索书号、分类号查询按排架顺序）、year/-year 出版年、call_number 索书号排架顺序"
    )
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10000)


class SearchOut(Schema):
    count: int
    items: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = Field(
        description="您是不是要找：查询无结果或只匹配部分词时，改正拼写（英文、拼音）和同音错字（担保无权 → 担保物权）后的查询，"
        "其余照原样；只取自调用者可见的记录"
    )
    matched_all_terms: bool
