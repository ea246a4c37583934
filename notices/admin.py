from django.contrib import admin

from notices.models import Notice


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Notices are written by the apps' notice functions and sent by the delivery job: the admin reads them
    (and a librarian may correct one not sent yet); nobody adds or deletes one by hand."""

    list_display = ("key", "kind", "patron", "about", "created_at", "sent_at")
    list_filter = ("kind",)
    search_fields = ("key", "patron__username", "subject", "about")
    list_select_related = ("patron",)
    readonly_fields = ("key", "kind", "patron", "about", "subject", "body", "created_at", "sent_at")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
