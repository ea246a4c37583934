"""Request and response schemas of the catalog API.  Input schemas reject unknown keys."""

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, FilterSchema, Schema

from core.schema_types import Id, SingleLine, StrictSchema, Text
from library.models import Book, Contributor, Copy, Language, Paper, copy_counts

Year = Annotated[int, Field(ge=1000, le=2100)]


class ContributorIn(StrictSchema):
    name: SingleLine(128, 1)
    role: Contributor.Role = Contributor.Role.AUTHOR
    name_romanized: SingleLine(128) = Field(default="", description="姓名的罗马字转写（name 为原文时）")


class ContributorOut(Schema):
    name: str
    role: str
    name_romanized: str = Field(description="姓名的罗马字转写（name 为原文，如日文、阿拉伯文；没有则为空）")


class BookIn(StrictSchema):
    isbn: SingleLine(32) | None = None
    title: SingleLine(500, 1)
    subtitle: SingleLine(500) = ""
    title_romanized: SingleLine(500) = Field(default="", description="题名的罗马字转写（title 为原文时）")
    subtitle_romanized: SingleLine(500) = ""
    other_titles: list[SingleLine(500)] = Field(default=[], max_length=50,
                                                description="其他题名：并列题名（其他语种或文字）、封面题名等")
    responsibility: SingleLine(500) = Field(default="", description="责任说明，如题名页所题：王泽鉴著")
    authors: list[SingleLine(128, 1)] = Field(default=[], max_length=50, description="作者姓名（按题名页顺序）")
    contributors: list[ContributorIn] | None = Field(
        default=None, max_length=50, description="带责任方式的责任者；给出时取代 authors"
    )
    publisher: SingleLine(200) = ""
    publisher_romanized: SingleLine(200) = Field(default="", description="出版者的罗马字转写（publisher 为原文时）")
    year: Year | None = None
    edition: SingleLine(64) = ""
    language: Language = Language.ZH
    clc: SingleLine(32) = Field(default="", description="中图法分类号，例如 D923.2")
    call_number: SingleLine(64) = ""
    subjects: list[SingleLine(100)] = Field(default=[], max_length=50)
    summary: Text(20000) = ""
    cover_url: SingleLine(500) = ""


class BookPatch(StrictSchema):
    isbn: SingleLine(32) | None = None
    title: SingleLine(500, 1) = None
    subtitle: SingleLine(500) = None
    title_romanized: SingleLine(500) = None
    subtitle_romanized: SingleLine(500) = None
    other_titles: list[SingleLine(500)] = Field(default=None, max_length=50)
    responsibility: SingleLine(500) = None
    authors: list[SingleLine(128, 1)] = Field(default=None, max_length=50)
    contributors: list[ContributorIn] = Field(default=None, max_length=50)
    publisher: SingleLine(200) = None
    publisher_romanized: SingleLine(200) = None
    year: Year | None = None
    edition: SingleLine(64) = None
    language: Language = None
    clc: SingleLine(32) = None
    call_number: SingleLine(64) = None
    subjects: list[SingleLine(100)] = Field(default=None, max_length=50)
    summary: Text(20000) = None
    cover_url: SingleLine(500) = None


class CopyIn(StrictSchema):
    barcode: SingleLine(32, 1)
    location: SingleLine(64, 1) = "院本部"
    shelf: SingleLine(64) = ""
    status: Copy.Status = Copy.Status.AVAILABLE
    acquired_on: date | None = None
    note: Text(2000) = ""


class CopyPatch(StrictSchema):
    barcode: SingleLine(32, 1) = None
    location: SingleLine(64, 1) = None
    shelf: SingleLine(64) = None
    status: Copy.Status = None
    acquired_on: date | None = None
    note: Text(2000) = None


class CopyOut(Schema):
    barcode: str
    location: str
    shelf: str
    status: str


class CopyDetailOut(CopyOut):
    book: int = Field(alias="book_id")
    acquired_on: date | None
    note: str
    label_printed_at: datetime | None = Field(description="书标和条码标签最近一次打印的时间；未打印为 null")


class LabelsIn(StrictSchema):
    """Which copies' labels to print: the given barcodes, or the copies accessioned since a day, or those
    never printed; several together narrow the choice."""

    kind: Literal["spine", "barcode", "both"] = Field("both", description="spine 书标、barcode 条码标签、both 两种")
    barcodes: list[SingleLine(32, 1)] = Field(default=[], max_length=1000, description="复本条码（扫码或输入）")
    accessioned_since: date | None = Field(None, description="入藏日期（无则为录入日期）不早于此日的复本")
    unprinted: bool = Field(False, description="只选标签从未打印过的复本")
    mark_printed: bool = Field(True, description="记为已打印（label_printed_at），下次 unprinted 不再选中")


class BookOut(Schema):
    id: int
    isbn: str | None
    title: str
    subtitle: str
    title_romanized: str = Field(description="题名的罗马字转写（原文题名在 title；没有则为空）")
    subtitle_romanized: str = Field(description="副题名的罗马字转写")
    other_titles: list[str] = Field(description="其他题名：并列题名（其他语种或文字）、封面题名等，原文在前")
    responsibility: str = Field(description="责任说明，如题名页所题（MARC 21 245 $c、UNIMARC 200 $f/$g）；没有则为空")
    authors: list[str]
    contributors: list[ContributorOut]
    publisher: str
    publisher_romanized: str = Field(description="出版者的罗马字转写（原文在 publisher；没有则为空）")
    year: int | None
    edition: str
    language: str = Field(description="语种代码：zh、mn、en、ru、ja、de、fr、other；未知为空")
    language_name: str = Field(description="语种名称（按 Accept-Language：中文 / Chinese）；未知为空")
    clc: str
    call_number: str
    subjects: list[str]
    summary: str
    cover_url: str
    copies: list[CopyOut]
    total_copies: int
    available_copies: int
    earliest_due: date | None = Field(description="在借复本中最早的应还日期")
    holds_waiting: int = Field(description="排队预约人数")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_authors(obj: Book) -> list[str]:
        return [c.name for c in obj.contributors.all()]

    @staticmethod
    def resolve_contributors(obj: Book) -> list[dict]:
        return [{"name": c.name, "role": c.role, "name_romanized": c.name_romanized} for c in obj.contributors.all()]

    @staticmethod
    def resolve_language_name(obj: Book) -> str:
        return str(obj.get_language_display()) if obj.language else ""

    @staticmethod
    def resolve_copies(obj: Book) -> list[Copy]:
        return list(obj.copies.all())

    @staticmethod
    def resolve_total_copies(obj: Book) -> int:
        # Lost and withdrawn copies are no longer part of the holdings.
        return copy_counts(c.status for c in obj.copies.all())[1]

    @staticmethod
    def resolve_available_copies(obj: Book) -> int:
        return copy_counts(c.status for c in obj.copies.all())[0]

    @staticmethod
    def resolve_earliest_due(obj: Book) -> date | None:
        # Annotated by selectors.book_queryset(); a freshly created book has no loans.
        return getattr(obj, "earliest_due", None)

    @staticmethod
    def resolve_holds_waiting(obj: Book) -> int:
        return getattr(obj, "holds_waiting", 0) or 0


class BookFilters(FilterSchema):
    language: Language | None = None
    clc: SingleLine(32) | None = Field(None, description="中图法分类号前缀，例如 D92")
    year_from: Year | None = None
    year_to: Year | None = None


class PaperIn(StrictSchema):
    title: SingleLine(500, 1)
    authors: list[SingleLine(128, 1)] = Field(default=[], max_length=50)
    abstract: Text(20000) = ""
    keywords: list[SingleLine(100)] = Field(default=[], max_length=50)
    year: Year | None = None
    kind: Paper.Kind = Paper.Kind.RESEARCH_PROJECT
    awards: SingleLine(300) = ""
    venue: SingleLine(300) = ""
    visibility: Paper.Visibility = Paper.Visibility.INTERNAL


class PaperPatch(StrictSchema):
    title: SingleLine(500, 1) = None
    authors: list[SingleLine(128, 1)] = Field(default=None, max_length=50)
    abstract: Text(20000) = None
    keywords: list[SingleLine(100)] = Field(default=None, max_length=50)
    year: Year | None = None
    kind: Paper.Kind = None
    awards: SingleLine(300) = None
    venue: SingleLine(300) = None
    visibility: Paper.Visibility = None


class PaperOut(Schema):
    id: int
    title: str
    authors: list[str]
    abstract: str
    keywords: list[str]
    year: int | None
    kind: str
    awards: str
    venue: str
    visibility: str
    has_file: bool
    file_name: str
    file_type: str
    file_size: int | None
    extraction_status: str = Field(description="全文提取：pending、done、failed；无文件时为空")
    extraction_error: str = Field(description="提取失败的原因（由后台任务以默认语言中文写入）；否则为空")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_authors(obj: Paper) -> list[str]:
        return [a.name for a in obj.paper_authors.all()]


class PaperFilters(FilterSchema):
    kind: Paper.Kind | None = None
    year: Year | None = None
    visibility: Paper.Visibility | None = None


class ImportOptions(Schema):
    format: SingleLine(16) | None = Field(
        None, description="csv、marc21、unimarc（cnmarc）、marcxml、unimarcxml（cnmarcxml）、marc（ISO 2709，方言按字段判断）"
                          "或 xml（任一种 MARC XML，可在 SRU / OAI-PMH 响应中）；不给出时按内容判断")
    location: SingleLine(64) | None = Field(None, description="新复本的馆藏地，例如 棋盘井法庭")
    dry_run: bool = Field(False, description="试导入：逐条判断并写出报告，但不写入任何书目、复本或索引")


class ImportAcceptedOut(Schema):
    id: int
    url: str = Field(description="GET 此地址查看进度与结果")
    state: str = Field(description="queued")


class ImportErrorOut(Schema):
    line: int | None = Field(description="CSV：出错的物理行号（表头为第 1 行）")
    record: int | None = Field(description="MARC：出错记录的序号（从 1 起）")
    reason: str


class ImportStatusOut(Schema):
    id: int
    url: str
    report_url: str = Field(description="逐条结果的 CSV 报告")
    report_xlsx_url: str = Field(description="逐条结果的 XLSX 报告")
    records_url: str = Field(description="逐条结果（可按 outcome 筛选，分页）")
    state: str = Field(description="queued、running、done 或 failed")
    dry_run: bool = Field(description="试导入：报告齐全，但所有写入均已回滚")
    committed_as: int | None = Field(None, description="试导入：从它开始的正式导入的 id（尚未正式导入时为 null）")
    error: str = Field(description="失败（或重试中）的原因；否则为空")
    file_name: str
    format: str = Field(description="请求的格式，读取后为识别出的 csv、marc21、unimarc、marcxml 或 unimarcxml")
    location: str
    records_done: int
    records_total: int | None = Field(description="读取文件后才知道")
    percent: int | None
    created: int
    updated: int
    unchanged: int = Field(description="与现有书目完全相同，未写入")
    skipped: int = Field(description="已弃用：unchanged 的旧名，下一版删除", json_schema_extra={"deprecated": True})
    conflicts: int = Field(description="与现有书目不一致（或可能重复）、尚待馆员决定的记录")
    failed: int
    errors: list[ImportErrorOut] = Field(description="前 20 个错误；全部见报告")
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None


class ImportConflictOut(Schema):
    field: str = Field(description="字段名（contributors 为责任者）")
    label: str
    current: str = Field(description="现有书目的值")
    incoming: str = Field(description="导入记录的值")


class ImportRecordOut(Schema):
    position: int = Field(description="在文件中的序号（从 1 起；0 为关于整个文件的提示）")
    line: int | None = Field(description="CSV：物理行号")
    record: int | None = Field(description="MARC：记录序号")
    control_number: str
    isbn: str
    outcome: str = Field(description="created、updated、unchanged、conflict、failed 或 notice")
    reason: str
    book: int | None = Field(description="新增、更新、未变或冲突所涉及的书目 id")
    conflict_kind: str = Field(description="冲突：fields（数据不一致）或 duplicate（可能重复）；否则为空")
    conflicts: list[ImportConflictOut]
    decision: str = Field(description="已决定的冲突：keep、replace 或 new；否则为空")
    decided_by: str | None
    decided_at: datetime | None
    decision_url: str | None = Field(description="尚待决定的冲突：POST 决定到此地址")

    @staticmethod
    def resolve_book(obj) -> int | None:
        return obj.book_id

    @staticmethod
    def resolve_decided_by(obj) -> str | None:
        return obj.decided_by.get_username() if obj.decided_by_id else None

    @staticmethod
    def resolve_decision_url(obj) -> str | None:
        if obj.outcome != "conflict":
            return None
        return f"/api/v1/imports/{obj.catalog_import_id}/records/{obj.position}/decision"


class ImportRecordFilters(Schema):
    outcome: Literal["created", "updated", "unchanged", "conflict", "failed", "notice"] | None = Field(
        None, description="只列此结果的记录")


class ImportDecisionIn(StrictSchema):
    action: Literal["keep", "replace", "new"] = Field(
        description="keep：保留现有书目；replace：以导入记录覆盖不一致的字段；new：另建一种新书")


# --- circulation ------------------------------------------------------------------------------------


class LoanIn(StrictSchema):
    """A loan needs the copy in hand: self-checkout ``{"barcode": "…"}``; desk checkout (librarian)
    ``{"barcode": "…", "patron": "username"}``.  ``{"book": id}`` is refused with ``barcode_required``: a book
    that is not in the reader's hands is requested (``POST /holds``)."""

    book: Id | None = Field(default=None, description="不再接受：借书需复本条码；预借请用 POST /holds（barcode_required）")
    barcode: SingleLine(32, 1) | None = Field(default=None, description="复本条码（扫码或手输）")
    patron: SingleLine(150, 1) | None = Field(default=None, description="柜台借出：读者用户名（馆员）；不给则借给本人")


class _ReaderBookOut(Schema):
    """What a loan and a hold both say: whose, and which book."""

    id: int
    book: int
    title: str
    patron: str

    @staticmethod
    def resolve_book(obj) -> int:
        return obj.book_id

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.book.title

    @staticmethod
    def resolve_patron(obj) -> str:
        return obj.patron.get_username()


class LoanOut(_ReaderBookOut):
    barcode: str
    borrowed_at: datetime
    due_date: date
    renewals: int
    status: str
    returned_at: datetime | None
    overdue: bool

    @staticmethod
    def resolve_barcode(obj) -> str:
        return obj.copy.barcode

    @staticmethod
    def resolve_overdue(obj) -> bool:
        from library.policy import library_today

        return obj.status == "active" and obj.due_date < library_today()


class ReturnIn(StrictSchema):
    barcode: SingleLine(32, 1)
    location: SingleLine(32, 1) | None = Field(default=None, description="还书地点代码（默认借出地）")


class RoutingOut(Schema):
    """Where the copy goes now."""

    to: Literal["hold_shelf", "transit", "pull_list", "shelf"] = Field(
        description="hold_shelf 放上本馆预约架；transit 放入在途箱发往 to_location；pull_list 为预约留出（仍在架）；shelf 放回书架")
    hold: int | None = None
    hold_patron: str | None = None
    pickup_by: date | None = None
    transfer: int | None = None
    to_location: str | None = None


class ReturnOut(Schema):
    loan: LoanOut
    to_hold: bool = Field(description="复本转给排队预约的读者，放上本馆预约架")
    hold_patron: str | None = None
    pickup_by: date | None = None
    next: RoutingOut


class CheckInIn(StrictSchema):
    barcode: SingleLine(32, 1)
    location: SingleLine(32, 1) = Field(description="签收所在馆藏地代码")


class CheckInOut(Schema):
    action: Literal["returned", "pulled", "received", "found"]
    barcode: str
    title: str
    loan: LoanOut | None = None
    next: RoutingOut


class LocationOut(Schema):
    code: str
    name: str
    address: str
    hours: str
    open_days: str = Field(description="开放的星期几（ISO，1 为星期一），如 12345；取书期限按此计算")
    pickup: bool


class LoanFilters(Schema):
    status: Literal["active", "overdue", "returned"] | None = None
    patron: SingleLine(150, 1) | None = None
    book: Id | None = None


class HoldIn(StrictSchema):
    book: Id
    pickup_location: SingleLine(32, 1) | None = Field(default=None, description="取书地点代码（GET /locations；默认第一个取书点）")
    patron: SingleLine(150, 1) | None = Field(default=None, description="馆员代读者预约")


class HoldOut(_ReaderBookOut):
    position: int | None = Field(description="排队位次（1 为下一位）；已留出复本或已结束时为 null")
    status: Literal["waiting", "pulling", "in_transit", "ready", "fulfilled", "cancelled", "expired"]
    pickup_location: str = Field(description="取书地点代码")
    pickup_location_name: str
    pickup_by: date | None
    barcode: str | None = Field(description="为本预约留出的复本条码（备书中、在途、待取）")
    created_at: datetime

    @staticmethod
    def resolve_position(obj) -> int | None:
        return getattr(obj, "position", None)

    @staticmethod
    def resolve_pickup_location(obj) -> str:
        return obj.pickup_location.code

    @staticmethod
    def resolve_pickup_location_name(obj) -> str:
        return obj.pickup_location.name

    @staticmethod
    def resolve_barcode(obj) -> str | None:
        return obj.copy.barcode if obj.copy_id and obj.status in ("pulling", "in_transit", "ready") else None


class PullOut(HoldOut):
    """A line of a pull list: the copy to take off its shelf, and where it goes."""

    call_number: str
    shelf: str
    location: str = Field(description="复本所在馆藏地")

    @staticmethod
    def resolve_call_number(obj) -> str:
        return obj.book.call_number

    @staticmethod
    def resolve_shelf(obj) -> str:
        return obj.copy.shelf

    @staticmethod
    def resolve_location(obj) -> str:
        return obj.copy.here


class TransferIn(StrictSchema):
    barcode: SingleLine(32, 1)
    to_location: SingleLine(32, 1) = Field(description="目的地代码")


class TransferOut(Schema):
    id: int
    barcode: str
    title: str
    from_location: str
    to_location: str
    reason: Literal["hold", "home", "move"]
    status: Literal["queued", "sent", "received", "cancelled"]
    hold: int | None = Field(alias="hold_id")
    created_at: datetime
    sent_at: datetime | None
    received_at: datetime | None

    @staticmethod
    def resolve_barcode(obj) -> str:
        return obj.copy.barcode

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.copy.book.title


class TransferFilters(Schema):
    location: SingleLine(32, 1) = Field(description="馆藏地代码")
    direction: Literal["outgoing", "incoming"] = Field(description="outgoing 发出（待发出与在途）；incoming 待签收")


class HoldFilters(Schema):
    status: Literal["waiting", "pulling", "in_transit", "ready", "fulfilled", "cancelled", "expired", "open"] | None = None
    patron: SingleLine(150, 1) | None = None
    book: Id | None = None


class CirculationEventOut(Schema):
    id: int
    action: str
    at: datetime
    actor: str | None
    patron: str | None
    book: int | None
    barcode: str | None
    loan: int | None
    hold: int | None
    channel: str
    detail: dict

    @staticmethod
    def resolve_actor(obj) -> str | None:
        return obj.actor.get_username() if obj.actor_id else None

    @staticmethod
    def resolve_patron(obj) -> str | None:
        return obj.patron.get_username() if obj.patron_id else None

    @staticmethod
    def resolve_book(obj) -> int | None:
        return obj.book_id

    @staticmethod
    def resolve_barcode(obj) -> str | None:
        return obj.copy.barcode if obj.copy_id else None

    @staticmethod
    def resolve_loan(obj) -> int | None:
        return obj.loan_id

    @staticmethod
    def resolve_hold(obj) -> int | None:
        return obj.hold_id


class CirculationEventFilters(Schema):
    book: Id | None = None
    patron: SingleLine(150, 1) | None = None
    action: SingleLine(16, 1) | None = None


# --- copy cataloguing (SRU targets) -----------------------------------------------------------------------------

SruIndexName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$", max_length=64)]


class SruTargetOut(Schema):
    id: int
    name: str
    base_url: str
    version: str
    record_schema: str
    isbn_index: str
    title_index: str
    author_index: str
    internal_network: bool
    enabled: bool
    position: int


class SruTargetIn(StrictSchema):
    name: SingleLine(64, 1)
    base_url: SingleLine(300, 1) = Field(description="SRU 服务的基础地址（http/https）")
    version: Literal["1.1", "1.2", "2.0"] = "1.2"
    record_schema: Literal["marcxml", "cnmarcxml", "unimarcxml", "dc"] = Field(
        default="marcxml", description="发送的 recordSchema，也决定如何读取记录")
    isbn_index: SruIndexName = "bath.isbn"
    title_index: SruIndexName = "dc.title"
    author_index: SruIndexName = "dc.creator"
    internal_network: bool = Field(default=False, description="服务器在法院内网：允许私有地址")
    enabled: bool = True
    position: int = Field(default=0, ge=0, le=32767)


class SruTargetPatch(StrictSchema):
    name: SingleLine(64, 1) = None
    base_url: SingleLine(300, 1) = None
    version: Literal["1.1", "1.2", "2.0"] = None
    record_schema: Literal["marcxml", "cnmarcxml", "unimarcxml", "dc"] = None
    isbn_index: SruIndexName = None
    title_index: SruIndexName = None
    author_index: SruIndexName = None
    internal_network: bool = None
    enabled: bool = None
    position: int = Field(default=None, ge=0, le=32767)


class SruSearchFilters(Schema):
    isbn: SingleLine(200) = Field(default="", description="按 ISBN 检索（三者给一个）")
    title: SingleLine(200) = Field(default="", description="按题名检索")
    author: SingleLine(200) = Field(default="", description="按责任者检索")
    page: int = Field(default=1, ge=1, le=1000)


class RecordFieldsOut(Schema):
    title: str
    subtitle: str
    authors: str
    publisher: str
    year: str
    isbn: str
    edition: str
    clc: str
    subjects: str = Field(description="主题词，以“；”分隔")


class DifferenceOut(Schema):
    field: str
    label: str
    theirs: str
    ours: str


class CandidateOut(Schema):
    position: int
    fields: RecordFieldsOut | None
    control_number: str
    token: str = Field(description="签名的记录：原样交给 import 接口（24 小时内有效）")
    digest: str = Field(description="记录 XML 的 SHA-256 前 16 位")
    local_book_id: int | None
    differences: list[DifferenceOut]
    suggested_call_number: str = Field(description="对方记录的索书号：仅供参考，不导入，也不算不同")
    problem: str = Field(description="记录无法读取时的原因")


class CandidatePageOut(Schema):
    target: int
    query_by: str
    query: str
    page: int
    pages: int
    total: int
    candidates: list[CandidateOut]


class CopyImportIn(StrictSchema):
    token: Text(200000) = Field(description="检索结果中候选记录的 token")
    on_conflict: Literal["keep", "replace", "new"] | None = Field(
        None, description="与本馆图书冲突时的决定：keep 保留本馆记录（不写入），replace 以导入为准（改写不同的字段），"
                          "new 另建新书；不给时冲突不写入，回答 outcome=conflict")
    fingerprint: Text(64) | None = Field(
        None, description="冲突回答中的 fingerprint；keep 与 replace 必须附上。本馆图书此后被修改、删除或已被他人决定时"
                          "回答 409 book_changed，不写入")


class CopyImportOut(Schema):
    outcome: Literal["created", "updated", "unchanged", "conflict", "failed"]
    book_id: int | None
    reason: str
    conflicts: list[dict]
    fingerprint: str = Field(description="冲突时本馆图书的指纹（其余结果为空）：决定时原样附上")


# --- related works and browsing by class -------------------------------------------------------------------


class RelatedWorkOut(Schema):
    type: Literal["book", "paper"]
    id: int
    title: str
    year: int | None
    clc: str = Field(description="图书的中图法分类号；成果为空")
    url: str = Field(description="书目页地址")
    shared: list[str] = Field(default=[], description="共同的主题词/关键词，或共同的分类号（同类图书）")
    class_name: str = Field(default="", description="同类图书：共同分类的类名（分类表未收的类为空）")
    author: str = Field(default="", description="第一作者（多位时为“某某 等”）；没有作者时为空")
    edition: str = Field(default="", description="图书的版次；成果或未著录时为空")


class RelatedOut(Schema):
    subjects: list[RelatedWorkOut] = Field(description="主题相同：共有主题词的图书、共有关键词的成果，共有越多越靠前")
    same_class: list[RelatedWorkOut] = Field(description="同类图书：共有的中图法类越深越靠前（不含仅同大类）")
    borrowed: list[RelatedWorkOut] = Field(
        description="借过本书的读者也借过：至少 RELATED_MIN_READERS 位不同读者都借过的图书；不显示读者与人数")


class ClcTreeFilters(Schema):
    root: SingleLine(32) | None = Field(None, description="只看这一类及其下级，例如 D92；不给则为 22 个基本大类")
    depth: int = Field(2, ge=1, le=6, description="显示的层数（含最上一层）")


class ClcPathOut(Schema):
    code: str
    name: str = Field(description="类名（按 Accept-Language）；分类表未收的类为空，只显示分类号")
    count: int


class ClcNodeOut(Schema):
    code: str
    name: str = Field(description="类名（按 Accept-Language）；分类表未收的类为空，只显示分类号")
    count: int = Field(description="本类及其下级类的图书数")
    search_url: str = Field(description="按本类筛选的检索页")
    children: list["ClcNodeOut"] = Field(description="馆藏中有书的下级类（到 depth 层为止）")
    more: bool = Field(description="还有未列出的下级类（depth 以下）")


class ClcTreeOut(Schema):
    root: str | None
    path: list[ClcPathOut] = Field(description="root 的上级类，从大类起")
    classes: list[ClcNodeOut]
    unclassified: int = Field(description="没有（或无法识别）分类号的图书数")
