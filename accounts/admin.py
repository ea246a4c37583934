from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.cards import cards_print
from accounts.models import ApiToken, FailedLogin, Profile
from core.errors import InvalidInput
from core.pdf import pdf_response


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("display_name", "division", "phone", "card_number")


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    inlines = [ProfileInline]
    list_display = ("username", "display_name", "division", "email", "roles", "is_active", "is_staff")
    list_filter = ("groups", "is_active", "is_staff")
    search_fields = ("username", "email", "profile__display_name", "profile__division")
    list_select_related = ("profile",)
    actions = ["print_cards"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.action(description=_("打印所选读者的读者证（PDF）"))
    def print_cards(self, request, queryset):
        try:
            printed = cards_print(readers=list(queryset.select_related("profile").order_by("profile__display_name",
                                                                                            "username")))
        except InvalidInput as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return None
        return pdf_response(printed.pdf, "cards.pdf")

    @admin.display(description=_("姓名"))
    def display_name(self, obj):
        return getattr(getattr(obj, "profile", None), "display_name", "")

    @admin.display(description=_("部门"))
    def division(self, obj):
        return getattr(getattr(obj, "profile", None), "division", "")

    @admin.display(description=_("角色"))
    def roles(self, obj):
        return "、".join(g.name for g in obj.groups.all())


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "name", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("user__username", "name", "lookup")
    readonly_fields = ("user", "lookup", "key_hash", "created_at", "last_used_at", "revoked_at")
    fields = ("user", "name", "lookup", "created_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        # Tokens are issued by `issuetoken` or POST /api/v1/auth/token, which show the secret once.
        return False

    @admin.action(description=_("吊销所选令牌"))
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("已吊销 %(n)d 个令牌") % {"n": count})


@admin.register(FailedLogin)
class FailedLoginAdmin(admin.ModelAdmin):
    list_display = ("username", "ip", "at")
    search_fields = ("username", "ip")
    readonly_fields = ("username", "ip", "at")

    def has_add_permission(self, request):
        # Only login_with_password writes these; an added row would be a blank username's failure.
        return False
