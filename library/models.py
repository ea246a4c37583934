"""The catalog: books (one record per edition), their physical copies, and the court's research papers."""

import hashlib
import ipaddress
import uuid
from datetime import date
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.models import person_link
from core.net import OutboundRefused, is_own, is_public, outbound_url_check, parse_endpoint, url_endpoint
from core.text import MESSAGE as NOT_ONE_LINE
from core.text import SingleLineFields, is_single_line
from library.callnumbers import normalize_call_number
from library.matching import match_text
from library.validators import (
    format_isbn,
    has_visible_text,
    normalize_barcode,
    normalize_clc,
    normalize_isbn,
    normalize_place_name,
    validate_place_name,
    validate_weekdays,
)


class Language(models.TextChoices):
    ZH = "zh", _("中文")
    MN = "mn", _("蒙古文")
    EN = "en", _("英文")
    RU = "ru", _("俄文")
    JA = "ja", _("日文")
    DE = "de", _("德文")
    FR = "fr", _("法文")
    OTHER = "other", _("其他")


def validate_year(value: int) -> None:
    if value is not None and not 1000 <= value <= date.today().year + 1:
        raise ValidationError(_("年份应在 1000 到明年之间：%(value)s"), params={"value": value})


class Book(SingleLineFields, models.Model):
    #: Fields shown as one line (lists, feeds, CSV rows, e-mail subjects): no line breaks or control
    #: characters (``clean_fields``).  ISBN, CLC and cover URL have stricter formats of their own.
    SINGLE_LINE = ("title", "subtitle", "title_romanized", "subtitle_romanized", "responsibility", "publisher",
                   "publisher_romanized", "edition", "call_number")

    isbn = models.CharField(  # noqa: DJ001 - NULL means "no ISBN", so the unique constraint allows many
        _("ISBN"), max_length=20, null=True, blank=True, help_text=_("可带连字符输入，保存为 13 位 ISBN；旧书可以没有")
    )
    title = models.CharField(_("题名"), max_length=500)
    subtitle = models.CharField(_("副题名"), max_length=500, blank=True)
    # A record in another script (MARC 21 880 fields) keeps its romanised title here, the original script
    # in title/subtitle; both are searched.
    title_romanized = models.CharField(_("题名（罗马字转写）"), max_length=500, blank=True)
    subtitle_romanized = models.CharField(_("副题名（罗马字转写）"), max_length=500, blank=True)
    #: Parallel titles (another language or script: MARC 21 246 with its 880, UNIMARC 200 $d and 510–517) and
    #: other forms of the title, original script first; searched and shown under the title.
    other_titles = models.JSONField(_("其他题名"), default=list, blank=True,
                                    help_text=_("并列题名（其他语种或文字）、封面题名等，每行一个"))
    #: The statement of responsibility as the title page words it (MARC 21 245 $c, UNIMARC 200 $f/$g):
    #: "王泽鉴著"; the people themselves are the contributors.
    responsibility = models.CharField(_("责任说明"), max_length=500, blank=True,
                                      help_text=_("题名页上的责任说明，例如 王泽鉴著；张三译"))
    publisher = models.CharField(_("出版者"), max_length=200, blank=True)
    #: The publisher's romanised form, when the record gives the name in another script too (MARC 21 260/264
    #: $b beside its 880: 平凡社 and Heibonsha); the original script is ``publisher``.
    publisher_romanized = models.CharField(_("出版者（罗马字转写）"), max_length=200, blank=True)
    year = models.PositiveSmallIntegerField(_("出版年"), null=True, blank=True, validators=[validate_year])
    edition = models.CharField(_("版次"), max_length=64, blank=True)
    # Blank: not known (an imported record that codes no language), never assumed to be Chinese.
    language = models.CharField(_("语种"), max_length=8, choices=Language.choices, default=Language.ZH, blank=True)
    clc = models.CharField(_("中图法分类号"), max_length=32, blank=True)
    call_number = models.CharField(_("索书号"), max_length=64, blank=True)
    subjects = models.JSONField(_("主题词"), default=list, blank=True)
    summary = models.TextField(_("内容提要"), blank=True)
    cover_url = models.URLField(_("封面地址"), max_length=500, blank=True, validators=[URLValidator(schemes=["http", "https"])])
    #: The title as imports match it (``library.matching.match_text``), kept by ``save``.
    title_key = models.CharField(_("题名匹配键"), max_length=500, blank=True, editable=False)
    #: The MARC record the book was imported from: "(003)001", or 001 alone when the record names no source.
    source_control_number = models.CharField(_("来源控制号"), max_length=100, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("图书")
        verbose_name_plural = _("图书")
        ordering = ["id"]
        constraints = [
            # NULL (no ISBN) may repeat; a present ISBN may not.
            models.UniqueConstraint(fields=["isbn"], name="book_isbn_unique"),
            models.CheckConstraint(condition=~Q(title=""), name="book_title_not_empty"),
            # A call number names one title on the shelf: unique, and so unique within its class (the class
            # is its first part).  Empty means "none yet" and may repeat.
            models.UniqueConstraint(
                fields=["call_number"], condition=~Q(call_number=""), name="book_call_number_unique",
                violation_error_message=_("该索书号已被另一种书使用"),
            ),
        ]
        indexes = [
            # Exact class lookups and ordering by class.  (The clc prefix filter of
            # book_list uses LIKE 'D92%', which this index serves only on
            # PostgreSQL with the C collation; catalogs of a court's size scan fast.)
            models.Index(fields=["clc"], name="book_clc"),
            # book_list(language=…, year_from/to=…).
            models.Index(fields=["language", "year"], name="book_language_year"),
            # The import's match rule: a record without ISBN by its title (importers._find_book) …
            models.Index(fields=["title_key", "year"], name="book_title_key"),
            # … or by the control number of the record it was imported from.
            models.Index(fields=["source_control_number"], name="book_source_control_number",
                         condition=~Q(source_control_number="")),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs) -> None:
        self.title_key = match_text(self.title)[:500]
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "title" in update_fields and "title_key" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "title_key"]
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors = {}
        if self.isbn:
            try:
                self.isbn = normalize_isbn(self.isbn)
            except ValidationError as exc:
                errors["isbn"] = exc.messages
        else:
            self.isbn = None
        if self.clc:
            try:
                self.clc = normalize_clc(self.clc)
            except ValidationError as exc:
                errors["clc"] = exc.messages
        self.call_number = normalize_call_number(self.call_number)
        # An empty title is already reported by the field check; a title of
        # only spaces passes that check and is caught here.
        if self.title and not has_visible_text(self.title):
            errors["title"] = [_("题名不能为空")]
        self.title = (self.title or "").strip()
        if not isinstance(self.subjects, list) or not all(isinstance(s, str) for s in self.subjects):
            errors["subjects"] = [_("主题词应为字符串列表")]
        elif not all(is_single_line(s) for s in self.subjects):
            errors["subjects"] = [NOT_ONE_LINE]
        if not isinstance(self.other_titles, list) or not all(isinstance(t, str) for t in self.other_titles):
            errors["other_titles"] = [_("其他题名应为字符串列表")]
        elif not all(is_single_line(t) for t in self.other_titles):
            errors["other_titles"] = [NOT_ONE_LINE]
        elif any(len(t) > 500 for t in self.other_titles):
            errors["other_titles"] = [_("每个题名最多 500 字")]
        if errors:
            raise ValidationError(errors)

    @property
    def isbn_display(self) -> str:
        return format_isbn(self.isbn) if self.isbn else ""


class CallNumberCounter(models.Model):
    """The last running number given out under a key: a CLC class (种次号: ``D923``) or a class and an author
    mark (著者号: ``D923/ZM``).  ``services.call_number_assign`` locks the row while it takes the next number,
    so two books of one class catalogued at once never get the same one."""

    key = models.CharField(_("分类号或著者号"), max_length=64)
    last = models.PositiveIntegerField(_("最后分配的号"), default=0)

    class Meta:
        verbose_name = _("索书号计数器")
        verbose_name_plural = _("索书号计数器")
        constraints = [models.UniqueConstraint(fields=["key"], name="callnumbercounter_key_unique")]

    def __str__(self) -> str:
        return f"{self.key}: {self.last}"


class Contributor(SingleLineFields, models.Model):
    """A person responsible for a book, in the order of the title page."""

    SINGLE_LINE = ("name", "name_romanized")

    class Role(models.TextChoices):
        AUTHOR = "author", _("著")
        EDITOR = "editor", _("编")
        TRANSLATOR = "translator", _("译")

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="contributors", verbose_name=_("图书"))
    name = models.CharField(_("姓名"), max_length=128)
    #: The name's romanised form when the record gives both (MARC 21 880 beside 100/700, CNMARC 70X $A pinyin);
    #: ``name`` is the original script.
    name_romanized = models.CharField(_("姓名（罗马字转写）"), max_length=128, blank=True)
    role = models.CharField(_("责任方式"), max_length=16, choices=Role.choices, default=Role.AUTHOR)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("责任者")
        verbose_name_plural = _("责任者")
        ordering = ["book_id", "position"]
        constraints = [models.UniqueConstraint(fields=["book", "position"], name="contributor_book_position_unique")]

    def __str__(self) -> str:
        return self.name


class Location(SingleLineFields, models.Model):
    """A place of the library: the main building's desk, a tribunal's reading corner.  Copies belong to one
    (``Copy.location`` names it), readers pick requested books up at one, desks work at one.

    Copies and loan policies name their location by ``name`` (the key imports and exports carry, e.g. MARC 852
    $b); a copy saved with a new name registers the place here (not a pickup point until a librarian says so).
    """

    SINGLE_LINE = ("name", "address")

    name = models.CharField(_("名称"), max_length=64, unique=True, help_text=_("例如 院本部、棋盘井法庭"),
                            validators=[validate_place_name])
    code = models.SlugField(_("代码"), max_length=32, unique=True, help_text=_("接口中使用，例如 main"))
    address = models.CharField(_("地址"), max_length=200, blank=True)
    hours = models.TextField(_("开放时间"), blank=True, help_text=_("例如 周一至周五 8:30–12:00，14:30–17:30"))
    pickup = models.BooleanField(_("可作取书点"), default=False)
    #: ISO weekdays the place is open (1 = Monday): a pickup deadline ends on one of them.
    open_days = models.CharField(_("开放日"), max_length=7, default="1234567", validators=[validate_weekdays],
                                 help_text=_("开放的星期几，1 为星期一，例如 12345 或 24"))
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("馆藏地")
        verbose_name_plural = _("馆藏地")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    def is_open_on(self, day: date) -> bool:
        return str(day.isoweekday()) in self.open_days

    @classmethod
    def register(cls, name: str) -> None:
        """Make sure a location called ``name`` exists.  A new one is not a pickup point, unless it is the
        library's first place (a new installation picks up where its first copies are)."""
        if not name or cls.objects.filter(name=name).exists():
            return
        from django.db import IntegrityError, transaction
        from django.utils.text import slugify
        from pypinyin import lazy_pinyin

        base = (slugify("-".join(lazy_pinyin(name))) or "location")[:28]
        taken = set(cls.objects.filter(code__startswith=base).values_list("code", flat=True))  # one query
        code, n = base, 1
        while code in taken:
            n += 1
            code = f"{base}-{n}"
        try:
            with transaction.atomic():
                position = cls.objects.count()
                cls.objects.create(name=name, code=code, position=position, pickup=position == 0)
        except IntegrityError:  # registered a moment ago by another request
            pass


class Copy(SingleLineFields, models.Model):
    """A physical item of a book, identified by its barcode."""

    class Status(models.TextChoices):
        AVAILABLE = "available", _("在架")
        ON_LOAN = "on_loan", _("借出")
        ON_PULL_LIST = "on_pull_list", _("备书中")
        IN_TRANSIT = "in_transit", _("在途")
        ON_HOLD_SHELF = "on_hold_shelf", _("预约保留")
        MISSING = "missing", _("架上未找到")
        LOST = "lost", _("遗失")
        REPAIR = "repair", _("修补中")
        WITHDRAWN = "withdrawn", _("已剔除")

    #: Statuses that only circulation (loans, holds and transfers) may set or leave.
    CIRCULATING = (Status.ON_LOAN, Status.ON_PULL_LIST, Status.IN_TRANSIT, Status.ON_HOLD_SHELF)
    #: Statuses of copies no longer part of the holdings (not counted in a book's total).
    GONE = (Status.LOST, Status.WITHDRAWN)
    #: The barcode's own format refuses spaces; these are free text on one line.
    SINGLE_LINE = ("location", "at_location", "shelf")

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="copies", verbose_name=_("图书"))
    barcode = models.CharField(_("条码"), max_length=32)
    location = models.CharField(_("馆藏地"), max_length=64, default="院本部", help_text=_("例如 院本部、棋盘井法庭"),
                                validators=[validate_place_name])
    #: Where the copy is when it is not at home: on the hold shelf of another location, or returned there and
    #: waiting for the van.  Blank while it is at its own location (or in transit: see Transfer).
    at_location = models.CharField(_("当前所在地"), max_length=64, blank=True, editable=False,
                                   help_text=_("不在本馆藏地时所在的地点"))
    shelf = models.CharField(_("架位"), max_length=64, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.AVAILABLE)
    acquired_on = models.DateField(_("入藏日期"), null=True, blank=True)
    note = models.TextField(_("备注"), blank=True)
    #: When its spine and barcode labels were last printed (``services.labels_print``); None: never.
    label_printed_at = models.DateTimeField(_("标签打印时间"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("复本")
        verbose_name_plural = _("复本")
        ordering = ["book_id", "barcode"]
        constraints = [
            models.UniqueConstraint(fields=["barcode"], name="copy_barcode_unique"),
            models.CheckConstraint(
                condition=Q(status__in=["available", "on_loan", "on_pull_list", "in_transit", "on_hold_shelf",
                                        "missing", "lost", "repair", "withdrawn"]),
                name="copy_status_valid",
            ),
        ]
        indexes = [
            # Availability counts per book (available_copies).
            models.Index(fields=["book", "status"], name="copy_book_status"),
        ]

    def __str__(self) -> str:
        return self.barcode

    def save(self, *args, **kwargs) -> None:
        # Every place a copy names is a Location (the desk's lists, pickup points and transfers are per location).
        Location.register(self.location)
        super().save(*args, **kwargs)

    @property
    def here(self) -> str:
        """The location where the copy physically is (its own unless ``at_location`` says otherwise)."""
        return self.at_location or self.location

    def clean(self) -> None:
        self.location = normalize_place_name(self.location)
        try:
            self.barcode = normalize_barcode(self.barcode)
        except ValidationError as exc:
            raise ValidationError({"barcode": exc.messages}) from None


def copy_counts(statuses) -> tuple[int, int]:
    """(available, total) of a book's copies from their statuses; lost and withdrawn ones are not counted."""
    statuses = list(statuses)
    return sum(1 for s in statuses if s == Copy.Status.AVAILABLE), sum(1 for s in statuses if s not in Copy.GONE)


def paper_upload_to(instance: "Paper", filename: str) -> str:
    # The stored name never comes from the client: a random name under
    # papers/ with only the checked extension, so uploads stay confined.
    return f"papers/{uuid.uuid4().hex}.{instance.file_type}"


class Paper(SingleLineFields, models.Model):
    """A research output of the court (调研课题, 论文 …), optionally with its full text."""

    class Kind(models.TextChoices):
        RESEARCH_PROJECT = "research_project", _("调研课题")
        ARTICLE = "article", _("论文")
        CASE_STUDY = "case_study", _("案例分析")
        JUDGMENT_COMMENTARY = "judgment_commentary", _("裁判文书评析")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("公开")
        INTERNAL = "internal", _("院内")

    class FileType(models.TextChoices):
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"
        TXT = "txt", "TXT"

    class ExtractionStatus(models.TextChoices):
        PENDING = "pending", _("待提取")
        DONE = "done", _("已提取")
        FAILED = "failed", _("提取失败")

    SINGLE_LINE = ("title", "awards", "venue")
    # The API's caps (schemas.PaperIn), kept by every path that saves through full_clean (pages, services).
    MAX_ABSTRACT_CHARS = 20_000
    MAX_KEYWORDS = 50
    MAX_KEYWORD_CHARS = 100

    title = models.CharField(_("题名"), max_length=500)
    abstract = models.TextField(_("摘要"), blank=True)
    keywords = models.JSONField(_("关键词"), default=list, blank=True)
    year = models.PositiveSmallIntegerField(_("年份"), null=True, blank=True, validators=[validate_year])
    kind = models.CharField(_("类型"), max_length=32, choices=Kind.choices, default=Kind.RESEARCH_PROJECT)
    awards = models.CharField(_("获奖情况"), max_length=300, blank=True)
    venue = models.CharField(_("发表刊物/会议"), max_length=300, blank=True)
    visibility = models.CharField(_("可见范围"), max_length=16, choices=Visibility.choices, default=Visibility.INTERNAL)
    file = models.FileField(_("全文文件"), upload_to=paper_upload_to, max_length=200, blank=True)
    file_name = models.CharField(_("原文件名"), max_length=255, blank=True)
    file_type = models.CharField(_("文件类型"), max_length=8, choices=FileType.choices, blank=True)
    file_size = models.PositiveBigIntegerField(_("文件大小"), null=True, blank=True)
    full_text = models.TextField(_("全文文本"), blank=True, editable=False)
    # Blank while there is no file.  A file whose text cannot be read is kept; the reason is shown.
    extraction_status = models.CharField(
        _("全文提取状态"), max_length=8, choices=ExtractionStatus.choices, blank=True, editable=False
    )
    extraction_error = models.CharField(_("全文提取失败原因"), max_length=300, blank=True, editable=False)
    created_by = person_link(_("录入人"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("调研成果")
        verbose_name_plural = _("调研成果")
        ordering = ["-year", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="paper_title_not_empty"),
            models.CheckConstraint(condition=Q(visibility__in=["public", "internal"]), name="paper_visibility_valid"),
            models.CheckConstraint(
                condition=Q(extraction_status__in=["", "pending", "done", "failed"]), name="paper_extraction_status_valid"
            ),
        ]
        indexes = [
            # paper_list() for anonymous users filters on visibility.
            models.Index(fields=["visibility", "year"], name="paper_visibility_year"),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self) -> None:
        errors = {}
        if self.title and not has_visible_text(self.title):
            errors["title"] = [_("题名不能为空")]
        self.title = (self.title or "").strip()
        if not isinstance(self.keywords, list) or not all(isinstance(s, str) for s in self.keywords):
            errors["keywords"] = [_("关键词应为字符串列表")]
        elif not all(is_single_line(s) for s in self.keywords):
            errors["keywords"] = [NOT_ONE_LINE]
        elif len(self.keywords) > self.MAX_KEYWORDS or any(len(s) > self.MAX_KEYWORD_CHARS for s in self.keywords):
            errors["keywords"] = [_("关键词最多 %(n)d 个，每个最多 %(chars)d 字")
                                  % {"n": self.MAX_KEYWORDS, "chars": self.MAX_KEYWORD_CHARS}]
        if len(self.abstract or "") > self.MAX_ABSTRACT_CHARS:
            errors["abstract"] = [_("摘要最多 %(chars)d 字") % {"chars": self.MAX_ABSTRACT_CHARS}]
        if errors:
            raise ValidationError(errors)

    @property
    def has_file(self) -> bool:
        return bool(self.file)


class PaperAuthor(SingleLineFields, models.Model):
    SINGLE_LINE = ("name",)

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="paper_authors", verbose_name=_("成果"))
    name = models.CharField(_("姓名"), max_length=128)
    position = models.PositiveSmallIntegerField(_("顺序"), default=0)

    class Meta:
        verbose_name = _("作者")
        verbose_name_plural = _("作者")
        ordering = ["paper_id", "position"]
        constraints = [models.UniqueConstraint(fields=["paper", "position"], name="paperauthor_paper_position_unique")]

    def __str__(self) -> str:
        return self.name


#: A subject (or keyword) up to this long is indexed as it is; a longer one by :func:`subject_key`'s short form.
SUBJECT_KEY_CHARS = 200


def subject_key(term: str) -> str:
    """How a subject or keyword is stored in the subject index (``BookSubject``, ``PaperKeyword``) and looked up:
    itself, or when longer than ``SUBJECT_KEY_CHARS`` (no controlled vocabulary has such a term, but nothing
    stops an import from bringing one, and a B-tree entry must stay small) its first 150 characters and a
    digest of the whole, so equal terms still have equal keys."""
    if len(term) <= SUBJECT_KEY_CHARS:
        return term
    return f"{term[:150]}#{hashlib.sha256(term.encode()).hexdigest()[:40]}"


class BookSubject(models.Model):
    """One distinct subject of a book's ``subjects`` list, as written (``subject_key``), with the book's year:
    the index that "same subjects" among related works reads (library.related), since no index serves a JSON
    list on SQLite.  Derived data: written by ``services.subject_index_sync`` on every save of a book
    (library.receivers) and rebuilt from the books by ``services.subject_index_rebuild`` (after a bulk load)."""

    # Indexed by the constraint below (book first).
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="subject_terms", db_index=False)
    term = models.CharField(max_length=SUBJECT_KEY_CHARS)
    #: The book's year, copied so that ranking the books of a term by shared terms, then year reads this
    #: table's index alone instead of one book row per candidate (3–4× faster at 100,000 books).
    year = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        default_permissions = ()
        # One row per book and term; a book's rows (subject_index_sync, the cascade on delete).
        constraints = [models.UniqueConstraint(fields=["book", "term"], name="booksubject_book_term")]
        # related._by_subjects: the books holding any of a work's terms, counted per book and ordered by year,
        # from the index alone.
        indexes = [models.Index(fields=["term", "book", "year"], name="booksubject_term_book_year")]

    def __str__(self) -> str:
        return self.term


class PaperKeyword(models.Model):
    """One distinct keyword of a paper's ``keywords`` list: :class:`BookSubject` for papers (their year is read
    from the paper: the visibility rule joins it anyway)."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="keyword_terms", db_index=False)
    term = models.CharField(max_length=SUBJECT_KEY_CHARS)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["paper", "term"], name="paperkeyword_paper_term")]
        # related._by_subjects: the papers holding any of a work's terms (a few: papers are 5% of a catalogue).
        indexes = [models.Index(fields=["term", "paper"], name="paperkeyword_term_paper")]

    def __str__(self) -> str:
        return self.term


class PaperDownload(models.Model):
    """One download of a paper's full text (``GET /api/v1/papers/{id}/file``): papers are not lent, so this is
    what "most read papers" counts (reports.library_reports.TopPapersReport) and what a reader's own year shows.
    ``reader`` is empty for an anonymous download (a public catalogue) and once the account is deleted: the count
    stays, the person is forgotten."""

    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="downloads", verbose_name=_("成果"))
    # Indexed with ``at`` below (a reader's downloads in a year), which also serves SET_NULL on deletion.
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="paper_downloads", db_index=False, verbose_name=_("读者"))
    at = models.DateTimeField(_("下载时间"))

    class Meta:
        verbose_name = _("全文下载")
        verbose_name_plural = _("全文下载")
        default_permissions = ()
        indexes = [
            # Reports: the downloads in a date range, counted per paper.
            models.Index(fields=["at"], name="paper_download_at"),
            # /me/reading: a reader's downloads in a year.
            models.Index(fields=["reader", "at"], name="paper_download_reader_at"),
        ]

    def __str__(self) -> str:
        return f"{self.paper_id} ← {self.reader_id} ({self.at:%Y-%m-%d %H:%M})"


# --------------------------------------------------------------------------------------------------------
# Circulation: policy, closed days, loans, holds, notices and the audit trail
# --------------------------------------------------------------------------------------------------------


class Channel(models.TextChoices):
    """Where a circulation action came from (recorded in the audit trail)."""

    API = "api", _("API")
    WEB = "web", _("网页")
    ADMIN = "admin", _("管理后台")
    COMMAND = "command", _("命令行")


class LoanPolicy(SingleLineFields, models.Model):
    """Loan rules.  A row applies to a role and/or a copy location ("" = any); the most specific row wins.

    Specificity: role and location > location > role > the default row (both empty).  Patron-wide
    limits (active loans, active holds) come from the role rows, since they do not depend on a copy.
    """

    SINGLE_LINE = ("location",)

    role = models.CharField(
        _("读者角色"), max_length=16, blank=True, choices=Role.choices, help_text=_("留空表示所有角色")
    )
    location = models.CharField(_("馆藏地"), max_length=64, blank=True, help_text=_("留空表示所有馆藏地"))
    loan_days = models.PositiveSmallIntegerField(_("借期（天）"), default=30)
    max_renewals = models.PositiveSmallIntegerField(_("最多续借次数"), default=2)
    renewal_days = models.PositiveSmallIntegerField(_("每次续借（天）"), default=30)
    max_loans = models.PositiveSmallIntegerField(_("最多在借册数"), default=10)
    pickup_days = models.PositiveSmallIntegerField(_("预约保留（天）"), default=3)
    max_holds = models.PositiveSmallIntegerField(_("最多预约数"), default=5)

    class Meta:
        verbose_name = _("借阅规则")
        verbose_name_plural = _("借阅规则")
        ordering = ["role", "location"]
        constraints = [
            models.UniqueConstraint(fields=["role", "location"], name="loanpolicy_role_location_unique"),
            models.CheckConstraint(condition=Q(loan_days__gte=1) & Q(pickup_days__gte=1), name="loanpolicy_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display() or _('所有角色')} · {self.location or _('所有馆藏地')}"


class ClosedDay(SingleLineFields, models.Model):
    """A day the library is closed: due dates and pickup deadlines falling on it move to the next open day."""

    SINGLE_LINE = ("name",)

    date = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=64, blank=True, help_text=_("例如 国庆节"))

    class Meta:
        verbose_name = _("闭馆日")
        verbose_name_plural = _("闭馆日")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class Loan(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("在借")
        RETURNED = "returned", _("已还")

    copy = models.ForeignKey(Copy, on_delete=models.PROTECT, related_name="loans", verbose_name=_("复本"))
    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="loans", verbose_name=_("图书"))
    patron = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loans", verbose_name=_("读者")
    )
    borrowed_at = models.DateTimeField(_("借出时间"))
    due_date = models.DateField(_("应还日期"))
    renewals = models.PositiveSmallIntegerField(_("已续借次数"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    returned_at = models.DateTimeField(_("归还时间"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.API)

    class Meta:
        verbose_name = _("借阅")
        verbose_name_plural = _("借阅")
        ordering = ["-borrowed_at", "-id"]
        constraints = [
            # The heart of circulation: a copy is lent at most once at a time.
            models.UniqueConstraint(fields=["copy"], condition=Q(status="active"), name="loan_one_active_per_copy"),
            # A patron holds at most one copy of a book at a time.
            models.UniqueConstraint(
                fields=["patron", "book"], condition=Q(status="active"), name="loan_one_active_per_patron_book"
            ),
            models.CheckConstraint(
                condition=(Q(status="active") & Q(returned_at__isnull=True))
                | (Q(status="returned") & Q(returned_at__isnull=False)),
                name="loan_returned_at_matches_status",
            ),
        ]
        indexes = [
            models.Index(fields=["patron", "status"], name="loan_patron_status"),
            models.Index(fields=["status", "due_date"], name="loan_status_due"),
            models.Index(fields=["book", "status"], name="loan_book_status"),
            # Related works, "borrowed together" (library.related): a book's readers, the most recent first …
            models.Index(fields=["book", "patron", "borrowed_at"], name="loan_book_patron"),
            # … and the books those readers borrowed, counted per book over distinct readers.
            models.Index(fields=["patron", "book"], name="loan_patron_book"),
            # Reports (reports.library_reports): loans counted per month in a date range, and returns.
            models.Index(fields=["borrowed_at"], name="loan_borrowed_at"),
            models.Index(fields=["returned_at"], name="loan_returned_at", condition=Q(returned_at__isnull=False)),
            # Active readers (reports.reader_reports): "did this reader borrow in the range", asked per reader:
            # one index probe instead of reading all of the reader's loans (bench/report_bench.py).
            models.Index(fields=["patron", "borrowed_at"], name="loan_patron_borrowed_at"),
        ]

    def __str__(self) -> str:
        return f"{self.copy_id} → {self.patron_id} ({self.status})"


class Hold(models.Model):
    """A reader's request for a book, to be picked up at ``pickup_location``.

    waiting (no copy free: the fair queue) → pulling (a copy on a shelf is set aside: on its location's pull
    list) → in_transit (pulled, travelling to the pickup location) → ready (on the pickup location's hold
    shelf until ``pickup_by``) → fulfilled at checkout; or cancelled / expired.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", _("排队中")
        PULLING = "pulling", _("备书中")
        IN_TRANSIT = "in_transit", _("在途")
        READY = "ready", _("待取")
        FULFILLED = "fulfilled", _("已借出")
        CANCELLED = "cancelled", _("已取消")
        EXPIRED = "expired", _("已过期")

    OPEN = (Status.WAITING, Status.PULLING, Status.IN_TRANSIT, Status.READY)
    #: Open holds that have a copy set aside for them.
    TRAPPED = (Status.PULLING, Status.IN_TRANSIT, Status.READY)

    book = models.ForeignKey(Book, on_delete=models.PROTECT, related_name="holds", verbose_name=_("图书"))
    patron = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="holds", verbose_name=_("读者")
    )
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(_("预约时间"))
    copy = models.ForeignKey(
        Copy, on_delete=models.PROTECT, null=True, blank=True, related_name="holds", verbose_name=_("保留的复本")
    )
    pickup_location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="holds",
                                        verbose_name=_("取书地点"))
    ready_at = models.DateTimeField(_("到书时间"), null=True, blank=True)
    pickup_by = models.DateField(_("取书截止"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, default=Channel.API)

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patron", "book"],
                condition=Q(status__in=["waiting", "pulling", "in_transit", "ready"]),
                name="hold_one_open_per_patron_book",
            ),
            # A copy set aside (on the pull list, in transit, on the hold shelf) is set aside for one hold only.
            models.UniqueConstraint(fields=["copy"], condition=Q(status__in=["pulling", "in_transit", "ready"]),
                                    name="hold_one_trapped_per_copy"),
            models.CheckConstraint(
                condition=~Q(status__in=["pulling", "in_transit", "ready"]) | Q(copy__isnull=False),
                name="hold_trapped_has_copy",
            ),
            models.CheckConstraint(
                condition=~Q(status="ready") | Q(pickup_by__isnull=False),
                name="hold_ready_has_deadline",
            ),
        ]
        indexes = [
            models.Index(fields=["book", "status", "created_at"], name="hold_queue"),
            models.Index(fields=["patron", "status"], name="hold_patron_status"),
            models.Index(fields=["status", "pickup_by"], name="hold_status_pickup"),
            # Reports: holds placed in a date range (ranking, wait times), holds fulfilled per month.
            models.Index(fields=["created_at"], name="hold_created_at"),
            models.Index(fields=["status", "closed_at"], name="hold_status_closed"),
        ]

    def __str__(self) -> str:
        return f"hold {self.pk}: book {self.book_id} for {self.patron_id} ({self.status})"


class Transfer(models.Model):
    """A copy travelling between locations (the circuit-court van): queued at ``from_location`` (on its send
    list), sent, received at ``to_location`` (on its receive list until then).  The copy is ``in_transit``
    from queueing to receipt."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("待发出")
        SENT = "sent", _("在途")
        RECEIVED = "received", _("已签收")
        CANCELLED = "cancelled", _("已取消")

    class Reason(models.TextChoices):
        HOLD = "hold", _("预约取书")
        HOME = "home", _("归还本馆")
        MOVE = "move", _("调拨")

    OPEN = (Status.QUEUED, Status.SENT)

    copy = models.ForeignKey(Copy, on_delete=models.PROTECT, related_name="transfers", verbose_name=_("复本"))
    from_location = models.CharField(_("发出地"), max_length=64)
    to_location = models.CharField(_("目的地"), max_length=64)
    reason = models.CharField(_("原因"), max_length=8, choices=Reason.choices)
    hold = models.ForeignKey("Hold", on_delete=models.SET_NULL, null=True, blank=True, related_name="transfers",
                             verbose_name=_("预约"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(_("创建时间"))
    sent_at = models.DateTimeField(_("发出时间"), null=True, blank=True)
    received_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    sent_by = person_link(_("发出人"))
    received_by = person_link(_("签收人"))

    class Meta:
        verbose_name = _("调拨")
        verbose_name_plural = _("调拨")
        ordering = ["created_at", "id"]
        constraints = [
            # A copy travels to one place at a time.
            models.UniqueConstraint(fields=["copy"], condition=Q(status__in=["queued", "sent"]),
                                    name="transfer_one_open_per_copy"),
            models.CheckConstraint(condition=~Q(from_location=F("to_location")), name="transfer_goes_somewhere"),
            models.CheckConstraint(condition=Q(status__in=["queued", "sent", "received", "cancelled"]),
                                   name="transfer_status_valid"),
        ]
        indexes = [
            models.Index(fields=["from_location", "status"], name="transfer_outgoing"),
            models.Index(fields=["to_location", "status"], name="transfer_incoming"),
        ]

    def __str__(self) -> str:
        return f"{self.copy_id}: {self.from_location} → {self.to_location} ({self.status})"


class CirculationEvent(models.Model):
    """The audit trail: who did what, for whom, when and through which channel."""

    class Action(models.TextChoices):
        CHECKOUT = "checkout", _("借出")
        RENEW = "renew", _("续借")
        RETURN = "return", _("归还")
        HOLD_PLACED = "hold_placed", _("预约")
        HOLD_PULL = "hold_pull", _("预约备书")
        HOLD_PULLED = "hold_pulled", _("已取出")
        HOLD_MISSING = "hold_missing", _("架上未找到")
        HOLD_READY = "hold_ready", _("预约到书")
        HOLD_FULFILLED = "hold_fulfilled", _("预约已借")
        HOLD_CANCELLED = "hold_cancelled", _("取消预约")
        HOLD_EXPIRED = "hold_expired", _("预约过期")
        OVERRIDE = "override", _("人工处理")
        TRANSFER_QUEUED = "transfer_queued", _("待调拨")
        TRANSFER_SENT = "transfer_sent", _("调拨发出")
        TRANSFER_RECEIVED = "transfer_received", _("调拨签收")

    action = models.CharField(_("操作"), max_length=24, choices=Action.choices)
    at = models.DateTimeField(_("时间"), db_index=True)
    actor = person_link(_("操作人"))
    patron = person_link(_("读者"))
    book = models.ForeignKey(Book, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    copy = models.ForeignKey(Copy, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    loan = models.ForeignKey(Loan, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    hold = models.ForeignKey(Hold, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    detail = models.JSONField(_("详情"), default=dict, blank=True)

    class Meta:
        verbose_name = _("流通记录")
        verbose_name_plural = _("流通记录")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["book", "at"], name="circ_book_at"),
            models.Index(fields=["patron", "at"], name="circ_patron_at"),
            # Reports: renewals per month, pull-list events in a date range and a hold's last HOLD_PULL.
            models.Index(fields=["action", "at"], name="circ_action_at"),
            models.Index(fields=["hold", "action", "at"], name="circ_hold_action_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


# --- catalog imports ----------------------------------------------------------------------------------


def import_upload_to(instance: "CatalogImport", filename: str) -> str:
    # Never the client's name: the file is only ever read back by the import job.
    return f"imports/{uuid.uuid4().hex}"


class CatalogImport(models.Model):
    """A catalog file (CSV or MARC) uploaded for import, and how far the import job has committed.

    ``position`` counts the rows or records written so far; it moves in the same transaction as each
    batch's books and ``ImportRecord`` rows, so a job killed mid-import resumes after the last committed
    batch and never counts or writes a record twice.
    """

    job = models.ForeignKey("jobs.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                            verbose_name=_("后台任务"))
    file = models.FileField(_("导入文件"), upload_to=import_upload_to, max_length=200, blank=True)
    file_name = models.CharField(_("原文件名"), max_length=255, blank=True)
    #: As asked ("" = judged from the content), then as read: csv, marc21 or unimarc.
    format = models.CharField(_("格式"), max_length=16, blank=True)
    location = models.CharField(_("新复本馆藏地"), max_length=64, blank=True)
    total = models.PositiveIntegerField(_("记录总数"), null=True, blank=True)
    position = models.PositiveIntegerField(_("已提交记录数"), default=0)
    #: A trial run: every record is judged and reported, and its writes are rolled back.
    dry_run = models.BooleanField(_("试导入"), default=False)
    #: A dry run's real import (正式导入), once started from it.
    committed_as = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                     verbose_name=_("正式导入"))
    created = models.PositiveIntegerField(_("新增"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    unchanged = models.PositiveIntegerField(_("未变"), default=0)
    #: Records still waiting for a librarian's decision (a decision moves one to created, updated or unchanged).
    conflicts = models.PositiveIntegerField(_("冲突"), default=0)
    failed = models.PositiveIntegerField(_("失败"), default=0)
    created_by = person_link(_("发起人"))
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("目录导入")
        verbose_name_plural = _("目录导入")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name or 'import'} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.total is not None and self.position >= self.total


class ImportRecord(models.Model):
    """The outcome of one row or record of an import (its report), written with the batch that wrote it.

    A conflict (the record matches a book and disagrees with it, or may duplicate one) keeps what a
    decision needs once the upload is gone: the parsed record (``entry``), the differing fields with both
    values (``conflicts``) and a fingerprint of the book as it was (``fingerprint``).  A decision sets
    ``decision``, who and when, and the outcome it led to.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", _("新增")
        UPDATED = "updated", _("更新")
        UNCHANGED = "unchanged", _("未变")
        CONFLICT = "conflict", _("冲突")
        FAILED = "failed", _("失败")
        NOTICE = "notice", _("提示")  # a problem that fails no row (ignored CSV columns)

    class ConflictKind(models.TextChoices):
        FIELDS = "fields", _("数据不一致")
        DUPLICATE = "duplicate", _("可能重复")

    class Decision(models.TextChoices):
        KEEP = "keep", _("保留现有")
        REPLACE = "replace", _("以导入为准")
        NEW = "new", _("另建新书")

    catalog_import = models.ForeignKey(CatalogImport, on_delete=models.CASCADE, related_name="records")
    #: Order in the file (1-based; 0 for a notice about the whole file).
    position = models.PositiveIntegerField(_("序号"))
    line = models.PositiveIntegerField(_("行号"), null=True, blank=True)  # CSV: the physical line
    record = models.PositiveIntegerField(_("记录号"), null=True, blank=True)  # MARC: the record number
    control_number = models.CharField(_("控制号"), max_length=64, blank=True)
    isbn = models.CharField("ISBN", max_length=32, blank=True)
    outcome = models.CharField(_("结果"), max_length=10, choices=Outcome.choices)
    reason = models.TextField(_("原因"), blank=True)
    book = models.ForeignKey(Book, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                             verbose_name=_("图书"))
    conflict_kind = models.CharField(_("冲突类型"), max_length=10, choices=ConflictKind.choices, blank=True)
    #: [{"field", "label", "current", "incoming"}, …]: the fields a conflict differs in, both values as text.
    conflicts = models.JSONField(_("不一致的字段"), default=list, blank=True)
    #: The record as parsed (values, people, holdings, control numbers, location) for a later decision.
    entry = models.JSONField(_("解析后的记录"), null=True, blank=True)
    fingerprint = models.CharField(_("书目指纹"), max_length=64, blank=True)
    decision = models.CharField(_("决定"), max_length=8, choices=Decision.choices, blank=True)
    decided_by = person_link(_("决定人"))
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("导入记录")
        verbose_name_plural = _("导入记录")
        constraints = [
            # Also the index of the report (all records in file order) and of the first errors.
            models.UniqueConstraint(fields=["catalog_import", "position"], name="import_record_position_unique"),
        ]
        indexes = [
            # The import page's first errors: failed and notice records in file order.
            models.Index(fields=["catalog_import", "outcome", "position"], name="import_record_outcome"),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.outcome}"

    @property
    def title(self) -> str:
        """The record's title: as parsed (a conflict keeps it), else its book's (reads ``self.book``: a query
        unless selected with it); "" for a failed record."""
        parsed = ((self.entry or {}).get("values") or {}).get("title")
        if parsed:
            return parsed
        return self.book.title if self.book_id is not None and self.book is not None else ""


# --- copy cataloguing: other libraries' SRU servers -----------------------------------------------------------

#: An SRU index name as CQL writes it (``bath.isbn``, ``dc.title``, a server's local ``title``): never a quote,
#: space or relation, so a configured name cannot change the meaning of a query.
SRU_INDEX_RE = r"^[A-Za-z][A-Za-z0-9_.\-]{0,63}$"


class SruTarget(SingleLineFields, models.Model):
    """Another library's SRU server that librarians copy catalogue records from (the national library, the
    city library).  ``record_schema`` is both the schema name sent (``recordSchema``) and how the records
    are read; the index names are what this server calls ISBN, title and author searches."""

    SINGLE_LINE = ("name", "base_url")

    class Version(models.TextChoices):
        V11 = "1.1", "SRU 1.1"
        V12 = "1.2", "SRU 1.2"
        V20 = "2.0", "SRU 2.0"

    class Schema(models.TextChoices):
        MARCXML = "marcxml", _("MARCXML（MARC21）")
        CNMARCXML = "cnmarcxml", _("CNMARC XML")
        UNIMARCXML = "unimarcxml", _("UNIMARC XML")
        DC = "dc", _("都柏林核心（DC）")

    name = models.CharField(_("名称"), max_length=64, unique=True, help_text=_("例如 国家图书馆、市图书馆"))
    base_url = models.CharField(_("服务地址"), max_length=300,
                                help_text=_("SRU 服务的基础地址，http:// 或 https:// 开头，例如 http://lx2.loc.gov:210/LCDB"))
    version = models.CharField(_("SRU 版本"), max_length=3, choices=Version.choices, default=Version.V12)
    record_schema = models.CharField(_("记录格式"), max_length=16, choices=Schema.choices, default=Schema.MARCXML)
    isbn_index = models.CharField(_("ISBN 检索点"), max_length=64, default="bath.isbn",
                                  validators=[RegexValidator(SRU_INDEX_RE)])
    title_index = models.CharField(_("题名检索点"), max_length=64, default="dc.title",
                                   validators=[RegexValidator(SRU_INDEX_RE)])
    author_index = models.CharField(_("责任者检索点"), max_length=64, default="dc.creator",
                                    validators=[RegexValidator(SRU_INDEX_RE)])
    internal_network = models.BooleanField(
        _("位于法院内网"), default=False,
        help_text=_("只有确知该服务器在内网（私有地址）时才勾选；否则地址必须指向互联网上的公网地址"))
    enabled = models.BooleanField(_("启用"), default=True)
    position = models.PositiveSmallIntegerField(_("排序"), default=0)

    class Meta:
        verbose_name = _("SRU 检索目标")
        verbose_name_plural = _("SRU 检索目标")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def endpoint(self) -> str:
        """The ``host:port`` its base URL reaches (as SRU_INTERNAL_HOSTS lists it), or "" for no valid URL."""
        try:
            parts = urlsplit(self.base_url.strip())
            return url_endpoint(parts) if parts.hostname else ""
        except ValueError:
            return ""

    @property
    def internal_listed(self) -> bool:
        """Whether its endpoint is one of SRU_INTERNAL_HOSTS: a target marked ``internal_network`` is trusted
        only then (its address may then be private, or this machine's)."""
        listed = set()
        for entry in settings.SRU_INTERNAL_HOSTS:
            try:
                listed.add(parse_endpoint(entry))
            except ValueError:
                continue  # reported by the system check shuyuan.E007
        return bool(self.endpoint) and self.endpoint in listed

    def clean(self) -> None:
        if not self.base_url:
            return
        host = (urlsplit(self.base_url.strip()).hostname or "").rstrip(".") if self.endpoint else ""
        try:
            # A server marked as on the court's network may have a private address (if it is listed, below).
            allowed = [*settings.SRU_ALLOWED_HOSTS, *([host] if self.internal_network and host else [])]
            outbound_url_check(self.base_url, allowed_hosts=allowed)
        except OutboundRefused as exc:
            raise ValidationError({"base_url": self._address_message(exc)}) from None
        self.base_url = self.base_url.strip()
        trusted = self.internal_network and self.internal_listed
        if self.internal_network and not trusted:
            raise ValidationError({"internal_network": _(
                "%(endpoint)s 不在设置 SRU_INTERNAL_HOSTS 中：只有列在其中的内网服务器（主机:端口）才能标为"
                "“位于法院内网”，请系统管理员核实后添加") % {"endpoint": self.endpoint}})
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return  # a name: resolved and checked each time a request is made (library.sru.fetch)
        if not trusted and (not is_public(ip) or is_own(ip)):
            raise ValidationError({"base_url": self._address_message(
                OutboundRefused("internal_address", _("地址不能指向内部网络")))})

    @staticmethod
    def _address_message(exc: OutboundRefused) -> str:
        if exc.code != "internal_address":
            return str(exc)
        return _("%(error)s。如果这台服务器确在法院内网，请系统管理员把它的主机和端口加入设置 SRU_INTERNAL_HOSTS，"
                 "再由超级管理员勾选“位于法院内网”。") % {"error": str(exc).rstrip("。")}

