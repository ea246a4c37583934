"""Forms of the library's pages: they validate input as the API's schemas do."""

import re

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from core.text import one_line
from library.copycat import isbn_term_problem
from library.models import Paper, SruTarget


class CatalogImportForm(forms.Form):
    FORMATS = [("", _("自动识别")), ("csv", "CSV"), ("marc21", "MARC21 (ISO 2709)"),
               ("unimarc", "UNIMARC/CNMARC (ISO 2709)"), ("marcxml", "MARCXML"),
               ("unimarcxml", "UNIMARC/CNMARC XML")]

    file = forms.FileField(label=_("目录文件（CSV、ISO 2709 MARC 或 MARC XML）"))
    format = forms.ChoiceField(label=_("格式"), choices=FORMATS, required=False)
    location = forms.CharField(label=_("新复本的馆藏地（可不填）"), max_length=64, required=False)
    dry_run = forms.BooleanField(label=_("试导入（只出报告，不写入任何数据）"), required=False)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大"))
        return upload

    def clean_location(self):
        return one_line(self.cleaned_data["location"])


class ImportDecisionForm(forms.Form):
    """A librarian's decision on an import's conflict (the API's ImportDecisionIn, in a page)."""

    action = forms.ChoiceField(choices=[("keep", "keep"), ("replace", "replace"), ("new", "new")])
class CopySearchForm(forms.Form):
    """Copy cataloguing: which library to ask, and for what."""

    BY = [("isbn", "ISBN"), ("title", _("题名")), ("author", _("责任者"))]

    target = forms.ModelChoiceField(label=_("检索目标"), queryset=SruTarget.objects.filter(enabled=True),
                                    empty_label=None)
    by = forms.ChoiceField(label=_("检索途径"), choices=BY, initial="isbn", widget=forms.RadioSelect)
    q = forms.CharField(label=_("检索词"), max_length=200)
    page = forms.IntegerField(min_value=1, max_value=1000, required=False, widget=forms.HiddenInput)

    def clean_q(self):
        text = one_line(self.cleaned_data["q"])
        if not text:
            raise forms.ValidationError(_("请输入检索词"))
        return text

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("by") == "isbn" and cleaned.get("q"):
            problem = isbn_term_problem(cleaned["q"])
            if problem:
                self.add_error("q", problem)
        return cleaned


class CopyImportForm(forms.Form):
    """One candidate, as the search page signed it."""

    target = forms.ModelChoiceField(queryset=SruTarget.objects.all(), widget=forms.HiddenInput)
    token = forms.CharField(max_length=200_000, widget=forms.HiddenInput)
    on_conflict = forms.ChoiceField(choices=[("", "")] + [(a, a) for a in ("keep", "replace", "new")], required=False,
                                    widget=forms.HiddenInput)
    #: The local book's fingerprint when the conflict was shown (``copycat.copycat_import``).
    fingerprint = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)


class PaperForm(forms.Form):
    """A research paper as its author enters it (the API's PaperIn, in a page)."""

    title = forms.CharField(label=_("题目"), max_length=300)
    authors = forms.CharField(label=_("作者（多人用顿号或逗号分隔）"), max_length=500, required=False)
    kind = forms.ChoiceField(label=_("类型"), choices=Paper.Kind.choices, initial=Paper.Kind.RESEARCH_PROJECT)
    year = forms.IntegerField(label=_("年份"), min_value=1949, max_value=2100, required=False)
    abstract = forms.CharField(label=_("摘要"), widget=forms.Textarea(attrs={"rows": 4}), required=False,
                               max_length=20_000)
    keywords = forms.CharField(label=_("关键词（多个用顿号或逗号分隔）"), max_length=500, required=False)
    visibility = forms.ChoiceField(label=_("可见范围"), choices=Paper.Visibility.choices,
                                   initial=Paper.Visibility.INTERNAL,
                                   help_text=_("院内：只有登录的本院人员可见；公开：市馆与所有读者可见"))

    def clean_title(self):
        return one_line(self.cleaned_data["title"])

    @staticmethod
    def _terms(text: str) -> list[str]:
        return [term.strip() for term in re.split(r"[、,，;；]", one_line(text)) if term.strip()]

    def paper_data(self) -> dict:
        data = self.cleaned_data
        return {"title": data["title"], "abstract": data["abstract"], "year": data["year"], "kind": data["kind"],
                "visibility": data["visibility"], "keywords": self._terms(data["keywords"])}

    def author_names(self) -> list[str]:
        return self._terms(self.cleaned_data["authors"])

    @classmethod
    def initial_for(cls, paper: Paper) -> dict:
        return {"title": paper.title, "authors": "、".join(a.name for a in paper.paper_authors.all()),
                "kind": paper.kind, "year": paper.year, "abstract": paper.abstract,
                "keywords": "、".join(paper.keywords or []), "visibility": paper.visibility}


class PaperFileForm(forms.Form):
    file = forms.FileField(label=_("全文（PDF、DOCX 或 TXT）"))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.PAPER_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大"))
        return upload


class OneLineErrors:
    """Forms of the desk answer each scan with one line: the first error."""

    def first_error(self) -> str:
        for errors in self.errors.values():
            return errors[0]
        return ""


class DeskForm(OneLineErrors, forms.Form):
    """One scan at the desk: lend a copy to a reader, take it back, or finish with the current reader.

    The reader may be given by username, library card number, name, the name's pinyin (zhangming, zm) or
    division; left empty, a checkout goes to the reader of the desk's previous checkout (``current``), so a
    stack of books for one reader is a scan of the card and then a scan of each book."""

    ACTIONS = [("checkout", _("借出")), ("return", _("归还")), ("end", _("换读者"))]

    action = forms.ChoiceField(choices=ACTIONS)
    barcode = forms.CharField(max_length=64, strip=True, required=False)
    patron = forms.CharField(max_length=150, required=False, strip=True)

    def __init__(self, *args, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current = current

    def clean(self):
        from accounts.selectors import find_readers, reader_label
        from library.selectors import copy_get

        cleaned = super().clean()
        action = cleaned.get("action")
        typed = cleaned.get("patron", "") if action == "checkout" else ""
        if action in ("checkout", "return"):
            raw = cleaned.get("barcode", "")
            copy = copy_get(barcode=raw) if raw else None
            if copy is None and (raw or not typed):  # a reader alone (a card scanned, Enter) is a lookup
                self.add_error("barcode", _("条码 %(barcode)s 不存在。") % {"barcode": raw} if raw
                               else _("请扫描或输入复本条码。"))
            cleaned["copy"] = copy
        if action == "checkout":
            readers = find_readers(typed) if typed else ([self.current] if self.current else [])
            if not readers:
                self.add_error("patron", _("没有找到读者 %(reader)s（可输入姓名、拼音、用户名或读者证号）。") % {"reader": typed}
                               if typed else _("请先扫描读者证或输入读者。"))
            elif len(readers) > 1:
                self.add_error("patron", _("有 %(n)s 位读者符合“%(reader)s”：%(names)s。请输入用户名或读者证号。") % {
                    "n": len(readers), "reader": typed, "names": "、".join(reader_label(r) for r in readers)})
            reader = readers[0] if len(readers) == 1 else None
            cleaned["reader"] = reader
            # A card number or username names the reader; a name, pinyin or division only suggests one, and the
            # desk shows whom it found before lending (two 张 in one court).
            profile = getattr(reader, "profile", None)
            cleaned["exact"] = not typed or reader is not None and (
                typed == reader.get_username() or typed.upper() == ((profile.card_number or "") if profile else ""))
        return cleaned


class TransferForm(OneLineErrors, forms.Form):
    """Move a copy on the shelf here to another location (for good: it belongs there once received)."""

    barcode = forms.CharField(label=_("复本条码"), max_length=64, strip=True)
    to = forms.ChoiceField(label=_("发往"), choices=())

    def __init__(self, *args, here=None, **kwargs):
        from library.selectors import location_list

        super().__init__(*args, **kwargs)
        self.places = {loc.code: loc for loc in location_list() if here is None or loc.pk != here.pk}
        self.fields["to"].choices = [(code, loc.name) for code, loc in self.places.items()]

    def clean(self):
        from library.selectors import copy_get

        cleaned = super().clean()
        raw = cleaned.get("barcode", "")
        copy = copy_get(barcode=raw) if raw else None
        if raw and copy is None:
            self.add_error("barcode", _("条码 %(barcode)s 不存在。") % {"barcode": raw})
        cleaned["copy"] = copy
        cleaned["to"] = self.places.get(cleaned.get("to", ""))
        return cleaned


def _terms_of(text: str) -> list[str]:
    """Barcodes or usernames typed or scanned one a line (or separated by spaces, commas, 、)."""
    return [term for term in re.split(r"[\s,，;；、]+", text or "") if term]


class LabelsForm(forms.Form):
    """Which copies' labels to print (the API's LabelsIn, in a page)."""

    kind = forms.ChoiceField(label=_("打印"), choices=[("both", _("书标和条码标签")), ("spine", _("书标")),
                                                     ("barcode", _("条码标签"))], initial="both")
    barcodes = forms.CharField(label=_("复本条码（每行一个，可扫码）"), required=False, max_length=20_000,
                               widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}))
    accessioned_since = forms.DateField(label=_("入藏日期不早于"), required=False,
                                        widget=forms.DateInput(attrs={"type": "date"}))
    unprinted = forms.BooleanField(label=_("只打印标签未打印过的复本"), required=False, initial=True)
    mark_printed = forms.BooleanField(label=_("记为已打印"), required=False, initial=True,
                                      help_text=_("不勾选则只预览，下次仍算未打印"))

    def selection(self) -> dict:
        data = self.cleaned_data
        return {"kind": data["kind"], "barcodes": _terms_of(data["barcodes"]),
                "accessioned_since": data["accessioned_since"], "unprinted": data["unprinted"],
                "mark_printed": data["mark_printed"]}


class CardsForm(forms.Form):
    """Whose library cards to print: readers by username or card number, or a whole division."""

    readers = forms.CharField(label=_("读者（用户名或读者证号，每行一个）"), required=False, max_length=20_000,
                              widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}))
    division = forms.ChoiceField(label=_("或：整个部门"), required=False, help_text=_("该部门有读者证号的全部读者"))

    def __init__(self, *args, **kwargs):
        from accounts.models import Profile

        super().__init__(*args, **kwargs)
        divisions = (Profile.objects.exclude(division="").exclude(card_number="").order_by("division")
                     .values_list("division", flat=True).distinct())
        self.fields["division"].choices = [("", "—"), *((d, d) for d in divisions)]

    def clean(self):
        cleaned = super().clean()
        if not self.errors and not _terms_of(cleaned.get("readers", "")) and not cleaned.get("division", "").strip():
            raise forms.ValidationError(_("请输入读者或部门。"))
        return cleaned

    def identifiers(self) -> list[str]:
        return _terms_of(self.cleaned_data["readers"])
