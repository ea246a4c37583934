from urllib.parse import urlsplit

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notices.models import Notice, NoticeDelivery, NoticePreference


class ReadOnly(admin.ModelAdmin):
    """Written by the services alone (the sender, a reader's /me or API): the admin only reads."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = NoticeDelivery
    fields = ("channel", "status", "attempts", "last_attempt_at", "sent_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    """Notices are written by the apps' notice functions and sent by the delivery job: the admin reads them
    (and a librarian may correct one not sent yet); nobody adds or deletes one by hand.  Its deliveries
    (one per channel) are shown below it."""

    list_display = ("key", "kind", "patron", "about", "created_at", "sent_at")
    list_filter = ("kind",)
    search_fields = ("key", "patron__username", "subject", "about")
    list_select_related = ("patron",)
    readonly_fields = ("key", "kind", "patron", "about", "subject", "body", "created_at", "sent_at", "retry_at")
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(ReadOnly):
    """Each notice through each channel: what went, what was skipped (no address) and what failed, and why."""

    list_display = ("notice", "channel_name", "status", "attempts", "last_attempt_at", "sent_at", "last_error")
    list_filter = ("status", "channel")
    search_fields = ("notice__key", "notice__patron__username")
    list_select_related = ("notice",)
    date_hierarchy = "last_attempt_at"

    @admin.display(description=_("渠道"), ordering="channel")
    def channel_name(self, obj):
        return obj.channel_label


@admin.register(NoticePreference)
class NoticePreferenceAdmin(ReadOnly):
    """Readers' choices, to answer "why did I get no SMS?".  The robot URL holds the robot's secret key:
    only its host is shown."""

    list_display = ("user", "remind_before", "robot", "updated_at")
    search_fields = ("user__username",)
    list_select_related = ("user",)
    fields = ("user", "channels", "remind_before", "robot", "updated_at")
    readonly_fields = fields

    @admin.display(description=_("机器人"))
    def robot(self, obj):
        return (urlsplit(obj.webhook_url).hostname if obj.webhook_url else None) or "—"
