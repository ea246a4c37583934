"""The index outbox in the admin, and the button that rebuilds the index as a background job.

Librarians and superusers see what is waiting in the outbox (read-only: a row deleted by hand is an
update the index never gets) and can ask a worker to rebuild the whole index; the job's page shows
its progress.  ``manage.py rebuild_index`` still rebuilds inline.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import user_has_role
from search_index import services
from search_index.models import IndexTask


def _may_rebuild(user) -> bool:
    return user.is_active and user.is_staff and user_has_role(user, Role.LIBRARIAN)


@admin.register(IndexTask)
class IndexTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "object_id", "created_at")
    list_filter = ("kind",)
    change_list_template = "admin/search_index/indextask/change_list.html"

    def has_module_permission(self, request):
        return _may_rebuild(request.user)

    def has_view_permission(self, request, obj=None):
        return _may_rebuild(request.user)

    def has_add_permission(self, request):
        return False

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
