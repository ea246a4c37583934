from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError, InvalidInput
from core.pdf import pdf_response
from library.callnumbers import normalize_call_number
from library.circulation import audit, copy_came_free, hold_cancel, loan_return
from library.fulltext import check_file
from library.models import (
    Book,
    Channel,
    CirculationEvent,
    ClosedDay,
    Contributor,
    Copy,
    Hold,
    Loan,
    LoanPolicy,
    Location,
    Paper,
    PaperAuthor,
    SruTarget,
    Transfer,
)
from library.services import call_number_assign, labels_print, papers_delete
from library.tasks import paper_upload_file


class CopyForm(forms.ModelForm):
    """Circulation statuses (借出, 预约保留) are set by loans and holds, never by hand."""

    class Meta:
        model = Copy
        fields = ("barcode", "location", "shelf", "status", "acquired_on", "note")
        # Narrow enough for the book page's row of copies to fit a 1366-pixel screen (the note's default
        # 40-column textarea pushed 入藏日期, 备注 and 删除 off it; routine walk).
        widgets = {"barcode": forms.TextInput(attrs={"size": 14}), "shelf": forms.TextInput(attrs={"size": 10}),
                   "note": forms.Textarea(attrs={"rows": 1, "cols": 18})}

    def clean_status(self):
        status = self.cleaned_data["status"]
        current = self.instance.status if self.instance.pk else None
        if status != current and (status in Copy.CIRCULATING or current in Copy.CIRCULATING):
            raise forms.ValidationError(_("借出和预约保留状态由借还流程管理，不能手工修改。"))
        return status


class LinesField(forms.CharField):
    """A list of strings edited one per line (blank lines dropped)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        return [line.strip() for line in (super().to_python(value) or "").splitlines() if line.strip()]


class BookForm(forms.ModelForm):
    """A librarian may set or change a call number by hand; one another book carries is refused by name."""

    other_titles = LinesField(label=Book._meta.get_field("other_titles").verbose_name, required=False,
                              help_text=Book._meta.get_field("other_titles").help_text)

    class Meta:
        model = Book
        fields = ("title", "subtitle", "title_romanized", "subtitle_romanized", "other_titles", "responsibility",
                  "isbn", "publisher", "publisher_romanized", "year", "edition", "language", "clc", "call_number",
                  "subjects", "summary", "cover_url")

    def clean_call_number(self):
        call_number = normalize_call_number(self.cleaned_data.get("call_number", ""))
        if call_number:
            holder = Book.objects.filter(call_number=call_number).exclude(pk=self.instance.pk).first()
            if holder is not None:
                raise forms.ValidationError(_("索书号 %(call_number)s 已被《%(title)s》使用") % {
                    "call_number": call_number, "title": holder.title})
        return call_number


class ContributorInline(admin.TabularInline):
    model = Contributor
    extra = 1
    fields = ("position", "name", "name_romanized", "role")


class CopyInlineFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk and form.instance.status in Copy.CIRCULATING:
                raise forms.ValidationError(
                    _("复本 %(barcode)s 借出或在预约架上，不能删除。") % {"barcode": form.instance.barcode}
                )


class CopyInline(admin.TabularInline):
    model = Copy
    form = CopyForm
    formset = CopyInlineFormSet
    extra = 1
    fields = ("barcode", "location", "shelf", "status", "acquired_on", "note")
    show_change_link = True


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    form = BookForm
    list_display = ("title", "isbn", "publisher", "year", "language", "clc", "call_number", "available", "copies_count")
    list_filter = ("language", "year", "copies__location")
    search_fields = ("title", "subtitle", "title_romanized", "isbn", "clc", "call_number", "publisher",
                     "publisher_romanized", "contributors__name", "contributors__name_romanized")
    inlines = [ContributorInline, CopyInline]
    list_per_page = 50
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("title", "subtitle", "title_romanized", "subtitle_romanized", "other_titles",
                           "responsibility", "isbn", "publisher", "publisher_romanized", "year", "edition", "language")}),
        (_("分类与排架"), {"fields": ("clc", "call_number", "subjects"),
                           "description": _("索书号留空时，保存有复本的已分类图书会自动编号；已有的索书号不会被自动改动。")}),
        (_("内容"), {"fields": ("summary", "cover_url")}),
    )

    def response_change(self, request, obj):
        """Saved from a link with ``?next=`` (the book page's 添加复本, 确定索书号): back there, not to the list,
        unless the librarian chose 保存并继续编辑 / 保存并增加另一个; ``next`` must be a path on this site."""
        response = super().response_change(request, obj)
        back = request.GET.get("next", "")
        stays = any(key in request.POST for key in ("_continue", "_addanother", "_saveasnew"))
        if back and not stays and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                                  require_https=request.is_secure()):
            return HttpResponseRedirect(back)
        return response

    def response_add(self, request, obj, post_url_continue=None):
        """A book catalogued here (the import page's 新增一本图书) opens on its own page, with its copies and call
        number as readers see them, unless the librarian chose 保存并继续编辑 / 保存并增加另一个 (the list it
        landed on before is sorted by call number: the new book was not in sight)."""
        response = super().response_add(request, obj, post_url_continue)
        if any(key in request.POST for key in ("_continue", "_addanother", "_popup")):
            return response
        return HttpResponseRedirect(reverse("book-detail", args=[obj.pk]))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if form.instance.copies.exists():
            # Copies added in the inline (or a class given to a book with copies): numbered as in the API.
            call_number_assign(book=form.instance)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _copies=Count("copies", distinct=True),
                _available=Count("copies", filter=Q(copies__status=Copy.Status.AVAILABLE), distinct=True),
            )
        )

    def has_delete_permission(self, request, obj=None):
        # A book whose copy is lent or waits on the hold shelf stays (as in the API).
        if obj is not None and obj.copies.filter(status__in=Copy.CIRCULATING).exists():
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        kept = queryset.filter(copies__status__in=Copy.CIRCULATING).distinct()
        if kept.exists():
            self.message_user(request, _("有复本在流通中的图书未删除：%(titles)s") % {
                "titles": "、".join(kept.values_list("title", flat=True)[:10])}, level="warning")
        super().delete_queryset(request, queryset.exclude(pk__in=kept.values("pk")))

    @admin.display(description=_("复本数"), ordering="_copies")
    def copies_count(self, obj):
        return obj._copies

    @admin.display(description=_("在架"), ordering="_available")
    def available(self, obj):
        return obj._available


class LabelPrintedFilter(admin.SimpleListFilter):
    title = _("标签")
    parameter_name = "label"

    def lookups(self, request, model_admin):
        return [("printed", _("已打印")), ("unprinted", _("未打印"))]

    def queryset(self, request, queryset):
        if self.value() in ("printed", "unprinted"):
            return queryset.filter(label_printed_at__isnull=self.value() == "unprinted")
        return queryset


@admin.register(Copy)
class CopyAdmin(admin.ModelAdmin):
    list_display = ("barcode", "book", "call_number", "location", "shelf", "status", "acquired_on",
                    "label_printed_at")
    list_filter = ("status", "location", LabelPrintedFilter)
    search_fields = ("barcode", "book__title", "book__isbn", "book__call_number")
    list_select_related = ("book",)
    autocomplete_fields = ("book",)
    form = CopyForm
    actions = ["print_labels"]

    @admin.display(description=_("索书号"), ordering="book__call_number")
    def call_number(self, obj):
        return obj.book.call_number

    @admin.action(description=_("打印所选复本的书标和条码标签（PDF）"))
    def print_labels(self, request, queryset):
        try:
            printed = labels_print(kind="both", barcodes=list(queryset.values_list("barcode", flat=True)))
        except InvalidInput as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return None
        return pdf_response(printed.pdf, "labels-both.pdf")

    def get_fields(self, request, obj=None):
        return ("book", *CopyForm.Meta.fields)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status in Copy.CIRCULATING:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            call_number_assign(book=obj.book)  # before the copy is written, as copy_create does
        super().save_model(request, obj, form, change)
        if change and "status" in form.changed_data and obj.status == Copy.Status.AVAILABLE:
            # Back on the shelf: the holds queue comes first.
            copy_came_free(copy=obj, from_status=Copy.Status.AVAILABLE, actor=request.user, channel=Channel.ADMIN)

    def delete_queryset(self, request, queryset):
        kept = queryset.filter(status__in=Copy.CIRCULATING)
        if kept.exists():
            self.message_user(request, _("流通中的复本未删除：%(barcodes)s") % {
                "barcodes": "、".join(kept.values_list("barcode", flat=True)[:20])}, level="warning")
        super().delete_queryset(request, queryset.exclude(status__in=Copy.CIRCULATING))


class PaperAuthorInline(admin.TabularInline):
    model = PaperAuthor
    extra = 1
    fields = ("position", "name")


class PaperForm(forms.ModelForm):
    upload = forms.FileField(label=_("上传全文"), required=False, help_text=_("PDF、DOCX 或 TXT；替换原有文件"))

    class Meta:
        model = Paper
        fields = ("title", "kind", "year", "visibility", "abstract", "keywords", "awards", "venue")

    def clean_upload(self):
        upload = self.cleaned_data.get("upload")
        if upload:
            from django.conf import settings

            if upload.size > settings.PAPER_MAX_UPLOAD_BYTES:
                raise forms.ValidationError(_("文件过大"))
            data = upload.read()
            try:
                # The type check only; the text is read by the sandboxed parser after saving.
                check_file(data)
            except InvalidInput as exc:
                raise forms.ValidationError(exc.detail) from None
            self.upload_data = (data, upload.name)
        return upload


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    form = PaperForm
    list_display = ("title", "kind", "year", "visibility", "awards", "has_file")
    list_filter = ("kind", "visibility", "year")
    search_fields = ("title", "abstract", "paper_authors__name", "awards", "venue")
    inlines = [PaperAuthorInline]
    readonly_fields = ("file_name", "file_type", "file_size", "extraction_status", "extraction_error", "created_by",
                       "created_at", "updated_at")
    fields = (
        "title", "kind", "year", "visibility", "abstract", "keywords", "awards", "venue", "upload",
        "file_name", "file_type", "file_size", "extraction_status", "extraction_error", "created_by", "created_at",
        "updated_at",
    )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        upload = getattr(form, "upload_data", None)
        if upload:
            # Stored in the admin's transaction; a worker reads the text once it commits.
            paper_upload_file(paper=obj, data=upload[0], filename=upload[1], uploaded_by=request.user)

    def delete_model(self, request, obj):
        # Through the service: the file goes with the row once the deletion commits (it stayed on disk).
        papers_delete(papers=Paper.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        papers_delete(papers=queryset)

    @admin.display(boolean=True, description=_("有全文"))
    def has_file(self, obj):
        return bool(obj.file)


# --- circulation ---------------------------------------------------------------------------------------


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    """Places: their opening hours and whether readers pick requested books up there.  A place that copies
    belong to, or that requests name, is not deleted (copies name it; rename it by editing the copies)."""

    list_display = ("name", "code", "pickup", "hours", "open_days", "position")
    list_editable = ("pickup", "position")
    search_fields = ("name", "code")

    def get_readonly_fields(self, request, obj=None):
        # Copies, policies and transfers name a place by its name: once in use it stays as it is.
        return ("name",) if obj is not None and self._in_use(obj) else ()

    @staticmethod
    def _in_use(obj) -> bool:
        return (Copy.objects.filter(Q(location=obj.name) | Q(at_location=obj.name)).exists()
                or obj.holds.exists() or Transfer.objects.filter(Q(from_location=obj.name) | Q(to_location=obj.name)).exists())

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self._in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        kept = [obj for obj in queryset if self._in_use(obj)]
        if kept:
            self.message_user(request, _("仍在使用的馆藏地未删除：%(names)s") % {
                "names": "、".join(obj.name for obj in kept)}, level="warning")
        super().delete_queryset(request, queryset.exclude(pk__in=[obj.pk for obj in kept]))


@admin.register(LoanPolicy)
class LoanPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "loan_days", "max_renewals", "renewal_days", "max_loans", "pickup_days", "max_holds")
    list_filter = ("role",)


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):
    list_display = ("date", "name")
    date_hierarchy = "date"
    search_fields = ("name",)


class ReadOnlyCirculation(admin.ModelAdmin):
    """Loans and holds change only through the circulation services (so the queue and the audit
    trail stay right); the admin reads them and offers the actions below."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Loan)
class LoanAdmin(ReadOnlyCirculation):
    list_display = ("copy", "book", "patron", "borrowed_at", "due_date", "renewals", "status", "returned_at")
    list_filter = ("status", "channel")
    search_fields = ("copy__barcode", "book__title", "patron__username")
    list_select_related = ("copy", "book", "patron")
    date_hierarchy = "borrowed_at"
    readonly_fields = ("copy", "book", "patron", "borrowed_at", "renewals", "status", "returned_at", "channel")
    fields = ("copy", "book", "patron", "borrowed_at", "due_date", "renewals", "status", "returned_at", "channel")
    actions = ["return_selected"]

    def save_model(self, request, obj, form, change):
        # The only editable field is the due date: a librarian's override, recorded as such.
        old = Loan.objects.get(pk=obj.pk).due_date
        super().save_model(request, obj, form, change)
        if old != obj.due_date:
            audit(CirculationEvent.Action.OVERRIDE, at=timezone.now(), actor=request.user, patron=obj.patron,
                  book_id=obj.book_id, copy_id=obj.copy_id, loan=obj, channel=Channel.ADMIN,
                  field="due_date", old=str(old), new=str(obj.due_date))

    @admin.action(description=_("归还所选借阅"))
    def return_selected(self, request, queryset):
        done = 0
        for loan in queryset.filter(status=Loan.Status.ACTIVE):
            try:
                loan_return(loan=loan, actor=request.user, channel=Channel.ADMIN)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{loan}: {exc.detail}", level=messages.WARNING)
        self.message_user(request, _("已归还 %(n)d 册") % {"n": done})


@admin.register(Hold)
class HoldAdmin(ReadOnlyCirculation):
    list_display = ("book", "patron", "status", "pickup_location", "created_at", "copy", "pickup_by")
    list_filter = ("status", "pickup_location")
    search_fields = ("book__title", "patron__username")
    list_select_related = ("book", "patron", "copy", "pickup_location")
    readonly_fields = ("book", "patron", "status", "pickup_location", "created_at", "copy", "ready_at", "pickup_by",
                       "closed_at", "channel")
    actions = ["cancel_selected"]

    @admin.action(description=_("取消所选预约"))
    def cancel_selected(self, request, queryset):
        done = 0
        for hold in queryset.filter(status__in=Hold.OPEN):
            hold_cancel(hold=hold, actor=request.user, channel=Channel.ADMIN)
            done += 1
        self.message_user(request, _("已取消 %(n)d 个预约") % {"n": done})


@admin.register(Transfer)
class TransferAdmin(ReadOnlyCirculation):
    """Copies on the van: sent and received at the desk's 在途 page, read here."""

    list_display = ("copy", "from_location", "to_location", "reason", "status", "created_at", "sent_at", "received_at")
    list_filter = ("status", "reason", "from_location", "to_location")
    search_fields = ("copy__barcode", "copy__book__title")
    list_select_related = ("copy",)
    date_hierarchy = "created_at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CirculationEvent)
class CirculationEventAdmin(ReadOnlyCirculation):
    list_display = ("at", "action", "actor", "patron", "book", "copy", "channel")
    list_filter = ("action", "channel")
    search_fields = ("book__title", "patron__username", "actor__username", "copy__barcode")
    list_select_related = ("actor", "patron", "book", "copy")
    date_hierarchy = "at"

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(SruTarget)
class SruTargetAdmin(admin.ModelAdmin):
    """Other libraries' SRU servers for copy cataloguing (the page: /catalog/copy)."""

    list_display = ("name", "base_url", "version", "record_schema", "internal_network", "enabled", "position")
    list_editable = ("enabled", "position")
    fieldsets = (
        (None, {"fields": ("name", "base_url", "version", "record_schema", "enabled", "position"),
                "description": format_lazy('{}<a href="/catalog/copy">{}</a>', _("保存后可回到 "),
                                           _("从其他图书馆复制编目"))}),
        (_("检索点"), {"fields": ("isbn_index", "title_index", "author_index"),
                       "description": _("对方服务器的检索点名称；多数服务器用 bath.isbn、dc.title、dc.creator。")}),
        (_("网络"), {"fields": ("internal_network",),
                     "description": _("只有超级管理员可以勾选或取消“位于法院内网”，且服务器的主机:端口须列在设置 "
                                      "SRU_INTERNAL_HOSTS 中；位于内网的目标，其服务地址也只有超级管理员可以修改。")}),
    )

    def get_readonly_fields(self, request, obj=None):
        # The mark lets the server's requests reach private addresses: a superuser's decision, and so is
        # moving a marked target to another address.
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields.append("internal_network")
            if obj is not None and obj.internal_network:
                fields.append("base_url")
        return fields
