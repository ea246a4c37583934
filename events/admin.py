from django.contrib import admin

from events.models import Attachment, Event, Override, Registration, Speaker, Venue


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    list_display = ("name", "location", "capacity")
    search_fields = ("name", "location")


class SpeakerInline(admin.TabularInline):
    model = Speaker
    extra = 1
    fields = ("position", "name", "role", "user")
    autocomplete_fields = ("user",)


class OverrideInline(admin.TabularInline):
    model = Override
    extra = 0
    fields = ("recurrence_id", "start", "end", "title", "venue", "venue_changed", "status", "reason")


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("name", "file", "size")
    readonly_fields = ("size",)


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "start", "venue", "rrule", "status", "visibility")
    list_filter = ("kind", "status", "visibility", "venue")
    search_fields = ("title", "description")
    date_hierarchy = "start"
    autocomplete_fields = ("books", "papers", "organizers")
    readonly_fields = ("uid", "sequence", "created_by", "created_at", "updated_at")
    inlines = [SpeakerInline, OverrideInline, AttachmentInline]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ("event", "occurrence", "user", "status", "created_at", "checked_in_at")
    list_filter = ("status",)
    search_fields = ("event__title", "user__username")
    list_select_related = ("event", "user")
    readonly_fields = ("event", "occurrence", "user", "status", "created_at", "cancelled_at")

    def has_add_permission(self, request):
        # Registrations go through events.services (seats, waitlist, notices).
        return False
