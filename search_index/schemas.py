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
    article: int | None = Field(None, ge=1, le=10000,
                                description="条文号：只看引用查询所写法律该条的作品（facets.article 的值）；查询须写明法律名称")
    sort: Literal["relevance", "year", "-year", "call_number"] = Field(
        "relevance", description="relevance 相关度（索书号、分类号查询按排架顺序）、year/-year 出版年、call_number 索书号排架顺序"
    )
    as_typed: bool = Field(
        False, description="true：按原样检索，不自动改用“您是不是要找”的查询（结果页“仍要搜索”的链接）"
    )
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10000)


class ExpansionOut(Schema):
    from_: str = Field(alias="from", description="查询中的法律名称（照原样），例如 民诉法")
    to: str = Field(description="该法律的通用名称（不含“中华人民共和国”），或所指的编，例如 民事诉讼法")
    law: str = Field(description="法律编号（法律名称词表）")
    title: str = Field(description="官方全称")
    forms: list[str] = Field(description="实际检索的各种名称（已含其他名称的不再重复检索）")


class CitationOut(Schema):
    law: str = Field(description="法律编号")
    name: str = Field(description="通用名称，例如 民法典")
    title: str = Field(description="官方全称")
    article: int = Field(description="条文号，例如 394")
    text: str = Field(description="查询中的引用（照原样），例如 民法典第三百九十四条")


class LawOut(Schema):
    law: str = Field(description="法律编号")
    name: str = Field(description="通用名称")
    title: str = Field(description="官方全称")


class SearchOut(Schema):
    count: int
    items: list[Hit]
    facets: dict[str, dict[str, int]] = Field(
        description="各分面的值及其记录数：type、year、language、clc、available；查询写明法律名称时另有 article"
        "（匹配作品引用该法律的条文号 → 作品数，引用最多的在前，最多 100 条）"
    )
    expansions: list[ExpansionOut] = Field(
        description="已扩展的法律名称：简称同时检索全称，全称同时检索简称（民诉法 → 民事诉讼法）"
    )
    citations: list[CitationOut] = Field(
        description="查询中识别出的条文引用（民法典第394条、《民法典》394条、民法典394 等同）：只找引用该条的作品"
    )
    law: LawOut | None = Field(description="查询首先写明的法律：facets.article 和参数 article 所指的法律")
    suggestion: str | None = Field(
        description="您是不是要找：查询无结果或只匹配部分词时，改正拼写（英文、拼音）和同音错字（担保无权 → 担保物权）后的查询，"
        "其余照原样；只取自调用者可见的记录。corrected_from 不为空时，结果已是该查询的结果"
    )
    matched_all_terms: bool
    query: str = Field(description="结果所对应的查询（规范化后：简体、半角）；自动纠正时为纠正后的查询")
    corrected_from: str | None = Field(
        description="自动纠正：原样的查询无结果或只匹配部分词，而纠正后的查询（suggestion）能找到时，"
        "结果为纠正后查询的结果，此处为原样的查询；as_typed=true 时不纠正"
    )
