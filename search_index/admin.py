"""The index change log and its nodes in the admin, the button that rebuilds the index as a background job,
and the dictionary of law names.

Librarians and superusers see the change log (read-only: an entry deleted or added by hand is an update
some index never gets, or one invented) with what waits for this node, and every node's position and lag;
they can ask a worker to rebuild the index (of the node whose worker takes the job); the job's page shows
its progress.  ``manage.py rebuild_index`` still rebuilds inline.  A superuser may delete a node that is
gone for good (it would be forgotten after ``SEARCH_LOG_KEEP_SECONDS`` anyway).
"""

import re

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core.text import INVISIBLE_FILLERS, NOT_IN_A_LINE, has_hidden_characters
from search_index import changelog, laws, searcher, services
from search_index.models import IndexChange, IndexNode, LawName


def _may_rebuild(user) -> bool:
    return user.is_active and user.is_staff and user_has_role(user, Role.LIBRARIAN)


class WaitingFilter(admin.SimpleListFilter):
    title = _("本节点")
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("here", _("等待本节点应用"))]

    def queryset(self, request, queryset):
        if self.value() == "here":
            node = IndexNode.objects.filter(name=changelog.node_name()).first()
            return queryset.filter(id__gt=node.applied_to if node else 0)
        return queryset


class SeenByRebuilders:
    """The change log's pages: seen by those who may rebuild the index, written only by the index itself."""

    def has_module_permission(self, request):
        return _may_rebuild(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_rebuild(request.user)

    def has_add_permission(self, request):
        return False


@admin.register(IndexChange)
class IndexChangeAdmin(SeenByRebuilders, admin.ModelAdmin):
    list_display = ("id", "kind", "object_id", "op", "created_at")
    list_filter = (WaitingFilter, "kind", "op")
    change_list_template = "admin/search_index/indexchange/change_list.html"

    def changelist_view(self, request, extra_context=None):
        state = changelog.node_state()
        return super().changelist_view(request, extra_context={**(extra_context or {}), "node_state": state,
                                                                "pruned_through": changelog.pruned_through()})

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        rebuild = path("rebuild/", self.admin_site.admin_view(self.rebuild_view), name="search_index_rebuild")
        return [rebuild, *super().get_urls()]

    def rebuild_view(self, request):
        """POST: enqueue a rebuild job (or find the one already open) and show its page."""
        if not _may_rebuild(request.user):
            raise PermissionDenied
        if request.method == "GET":
            # A rebuild rereads the whole catalogue: the button leads here first, to say what it does.
            from library.models import Book, Paper

            context = {**self.admin_site.each_context(request), "title": _("重建全文索引"),
                       "records": Book.objects.count() + Paper.objects.count(), "opts": self.model._meta}
            return TemplateResponse(request, "admin/search_index/rebuild_confirm.html", context)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        with transaction.atomic():
            job, created = services.index_rebuild_enqueue(created_by=request.user)
        if created:
            self.message_user(request, _("已开始重建全文索引（任务 %(id)d），进度见本页") % {"id": job.pk},
                              messages.SUCCESS)
        else:
            self.message_user(request, _("重建全文索引的任务 %(id)d 已在进行") % {"id": job.pk}, messages.INFO)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))


@admin.register(IndexNode)
class IndexNodeAdmin(SeenByRebuilders, admin.ModelAdmin):
    """Each node's place in the log: ``waiting`` counts the entries after what it applied (up to
    ``changelog.LAG_COUNT_CAP``), ``lag`` is how long the oldest of them has waited."""

    list_display = ("name", "live", "seen_at", "position", "applied_to", "waiting", "lag", "generation", "started_at")
    readonly_fields = ("name", "generation", "position", "applied_to", "started_at", "seen_at")

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def get_queryset(self, request):
        # Live or not by the database's clock, in the list's one query (changelog.live_since).
        return super().get_queryset(request).annotate(
            is_live=ExpressionWrapper(Q(seen_at__gte=changelog.live_since()), output_field=BooleanField()))

    @admin.display(boolean=True, description=_("在线"))
    def live(self, obj):
        return obj.is_live

    @admin.display(description=_("等待条数"))
    def waiting(self, obj):
        return self._lag(obj)[0]

    @admin.display(description=_("延迟（秒）"))
    def lag(self, obj):
        return round(self._lag(obj)[1], 1)

    @staticmethod
    def _lag(obj) -> tuple[int, float]:
        """``changelog.lag`` of the row, counted once for both columns (kept on the row's object)."""
        if not hasattr(obj, "_lag"):
            obj._lag = changelog.lag(obj)
        return obj._lag


#: A law's code is part of the ``cites`` terms a query is rewritten into (``cites:f0186a394``).
_CODE = re.compile(r"[a-z][a-z0-9]{0,15}")


def _shown(form: str) -> str:
    """A form as a message may quote it: control and invisible characters written as U+XXXX."""
    return "".join(f"U+{ord(c):04X}" if NOT_IN_A_LINE.match(c) or has_hidden_characters(c) else c for c in form)


def name_problems(label, forms: list[str]) -> list[str]:
    """Why each of ``forms`` (the law's title, short forms or parts, named ``label`` in the messages) cannot be
    a name the search looks for: control or invisible characters, query syntax (an operator word, a field
    prefix, quotes, brackets, wildcards, markup: ``searcher.query_syntax``), or a single character, which the
    dictionary ignores (``laws.LawDictionary``) and which would otherwise be saved without a word."""
    problems = []
    for form in forms:
        if NOT_IN_A_LINE.search(form) or has_hidden_characters(form) or INVISIBLE_FILLERS.search(form):
            problems.append(_("%(field)s“%(form)s”含有控制字符或不可见字符") % {"field": label, "form": _shown(form)})
            continue
        syntax = searcher.query_syntax(form)
        if syntax:
            message = _("%(field)s“%(form)s”含有检索语法 %(syntax)s：检索时会被读作运算符、字段前缀、通配符或标记，请删去")
            if "(" in syntax or ")" in syntax:
                message += _("（名称中的括号请用全角“（）”）")
            problems.append(message % {"field": label, "form": form, "syntax": " ".join(syntax)})
        elif len(laws.normalize_form(form)) < 2:
            problems.append(_("%(field)s“%(form)s”不足两个字：检索不使用一个字的名称，请写全") % {"field": label, "form": form})
    return problems


class LawNameForm(forms.ModelForm):
    class Meta:
        model = LawName
        fields = ["code", "title", "kind", "short_forms", "parts", "source"]

    def clean_code(self):
        code = (self.cleaned_data.get("code") or "").strip().lower()
        if not _CODE.fullmatch(code):
            raise forms.ValidationError(_("编号只能由小写字母和数字组成，以字母开头，例如 x0001"))
        return code

    def _checked(self, name: str, forms_: list[str]) -> None:
        problems = name_problems(LawName._meta.get_field(name).verbose_name, forms_)
        if problems:
            raise forms.ValidationError(problems)

    def clean_title(self):
        title = self.cleaned_data["title"]
        self._checked("title", [title])
        return title

    def clean_short_forms(self):
        value = self.cleaned_data.get("short_forms", "")
        self._checked("short_forms", laws.split_forms(value))
        return value

    def clean_parts(self):
        value = self.cleaned_data.get("parts", "")
        self._checked("parts", laws.split_forms(value))
        return value

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        mine = laws.Law(code=cleaned.get("code") or (self.instance.code or ""), title=cleaned.get("title", ""),
                        short_forms=tuple(laws.split_forms(cleaned.get("short_forms", ""))),
                        parts=tuple(laws.split_forms(cleaned.get("parts", ""))))
        others = [laws.law_from_row(row) for row in LawName.objects.exclude(pk=self.instance.pk)]
        taken = {key: codes for key, codes in laws.conflicts([mine, *others]).items() if mine.code in codes}
        if taken:
            # Which law holds each form: the librarian decides which of the two should keep it.
            titles = {law.code: law.title for law in others}
            names = "、".join(f"{form}（{'、'.join(titles.get(c, c) for c in codes if c != mine.code)}）"
                             for form, codes in sorted(taken.items()))
            raise forms.ValidationError(_("这些名称已属于其他法律：%(names)s") % {"names": names})
        return cleaned


@admin.register(LawName)
class LawNameAdmin(admin.ModelAdmin):
    """Librarians keep the dictionary of law names (the role's model permissions, accounts.services).  A save
    takes effect on this process's next search and on every other process's within
    ``LAW_DICTIONARY_CHECK_SECONDS``; when the names change, the records mentioning them are
    queued for re-indexing (their cited articles), as a background job."""

    form = LawNameForm
    list_display = ("code", "title", "kind", "short_forms_line", "updated_at")
    list_filter = ("kind",)
    search_fields = ("code", "title", "short_forms", "parts")
    ordering = ("code",)

    @admin.display(description=_("简称"))
    def short_forms_line(self, obj):
        # Each form whole (static/shuyuan_admin.css): a phone's narrow column broke 民诉法 into 民 / 诉 / 法.
        return format_html_join("、", '<span class="short-form">{}</span>',
                                ((form,) for form in laws.split_forms(obj.short_forms))) or "-"

    def get_readonly_fields(self, request, obj=None):
        # The index stores the code with every cited article: it never changes once the law exists.
        return ("code",) if obj is not None else ()

    @staticmethod
    def _forms(obj) -> set[str]:
        return set(laws.law_from_row(obj).forms()) | set(laws.split_forms(obj.parts)) if obj else set()

    def save_model(self, request, obj, form, change):
        before = self._forms(LawName.objects.filter(pk=obj.pk).first()) if change else set()
        super().save_model(request, obj, form, change)
        after = self._forms(obj)
        if before != after:
            self._reindexing(request, services.law_name_changed(forms=before ^ after if change else after,
                                                                created_by=request.user))

    def delete_model(self, request, obj):
        forms_before = self._forms(obj)
        super().delete_model(request, obj)
        self._reindexing(request, services.law_name_changed(forms=forms_before, created_by=request.user))

    def delete_queryset(self, request, queryset):
        forms_before = set().union(*(self._forms(obj) for obj in queryset))
        super().delete_queryset(request, queryset)
        self._reindexing(request, services.law_name_changed(forms=forms_before, created_by=request.user))

    def _reindexing(self, request, job) -> None:
        """Say what the edit does and when (routine walk of issue 19: the save said only "changed successfully",
        while citations written with the new name are found only after the re-indexing job)."""
        if job is None:
            return
        self.message_user(request, _(
            "检索已按新名称扩展（其他服务进程最迟 %(seconds)s 秒后）。提到这些名称的作品正在后台重新索引"
            "（后台任务 %(id)s）；完成后，用新名称写的条文引用才能按条文检索到。")
            % {"seconds": settings.LAW_DICTIONARY_CHECK_SECONDS, "id": job.pk}, messages.INFO)
