from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from library.models import Book, Contributor, Copy, Paper, PaperAuthor


class ContributorInline(admin.TabularInline):
    model = Contributor
    extra = 1
    fields = ("position", "name", "role")


class CopyInline(admin.TabularInline):
    model = Copy
    extra = 1
    fields = ("barcode", "location", "shelf", "status", "acquired_on", "note")
    show_change_link = True


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ("title", "isbn", "publisher", "year", "language", "clc", "call_number", "available", "copies_count")
    list_filter = ("language", "year", "copies__location")
    search_fields = ("title", "subtitle", "isbn", "clc", "call_number", "publisher", "contributors__name")
    inlines = [ContributorInline, CopyInline]
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("title", "subtitle", "isbn", "publisher", "year", "edition", "language")}),
        (_("分类与排架"), {"fields": ("clc", "call_number", "subjects")}),
        (_("内容"), {"fields": ("summary", "cover_url")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _copies=Count("copies", distinct=True),
                _available=Count("copies", filter=Q(copies__status=Copy.Status.AVAILABLE), distinct=True),
            )
        )

    @admin.display(description=_("复本数"), ordering="_copies")
    def copies_count(self, obj):
        return obj._copies

    @admin.display(description=_("在架"), ordering="_available")
    def available(self, obj):
        return obj._available


@admin.register(Copy)
class CopyAdmin(admin.ModelAdmin):
    list_display = ("barcode", "book", "location", "shelf", "status", "acquired_on")
    list_filter = ("status", "location")
    search_fields = ("barcode", "book__title", "book__isbn")
    list_select_related = ("book",)
    autocomplete_fields = ("book",)


class PaperAuthorInline(admin.TabularInline):
    model = PaperAuthor
    extra = 1
    fields = ("position", "name")


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "year", "visibility", "awards", "has_file")
    list_filter = ("kind", "visibility", "year")
    search_fields = ("title", "abstract", "paper_authors__name", "awards", "venue")
    inlines = [PaperAuthorInline]
    readonly_fields = ("file_name", "file_type", "file_size", "created_by", "created_at", "updated_at")
    fields = (
        "title", "kind", "year", "visibility", "abstract", "keywords", "awards", "venue",
        "file_name", "file_type", "file_size", "created_by", "created_at", "updated_at",
    )

    @admin.display(boolean=True, description=_("有全文"))
    def has_file(self, obj):
        return bool(obj.file)
