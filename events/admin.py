"""The events admin applies the API's object rules: an organizer sees and changes only the events
they organize (``selectors.can_manage``), their inlines and registrations; superusers see all."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from accounts.selectors import user_has_role
from core.errors import DomainError, InvalidInput
from events import listing, services
from events.models import Attachment, Event, Override, Registration, Speaker, Venue
from events.recurrence import rule_in_words
from events.selectors import can_manage, managed_events


def _may_manage(request, event: Event | None) -> bool:
    """``can_manage`` for one event; with no event (lists, add pages) the model permissions decide alone."""
    return event is None or can_manage(request.user, event)


@admin.register(Venue)
class VenueAdmin(admin.ModelAdmin):
    # As in the API, every organizer keeps every venue (the organizer group's model permissions).
    list_display = ("name", "location", "capacity")
    search_fields = ("name", "location")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "capacity" in form.changed_data:
            services.venue_seats_sync(venue=obj)  # as the API's venue_update


class ManagedEventInline(admin.TabularInline):
    """Rows of an event follow the event: Django passes the parent event as ``obj``."""

    def get_queryset(self, request):
        return super().get_queryset(request).filter(event__in=managed_events(request.user))

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and _may_manage(request, obj)

    def has_add_permission(self, request, obj):
        return super().has_add_permission(request, obj) and _may_manage(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _may_manage(request, obj)


class SpeakerInline(ManagedEventInline):
    model = Speaker
    extra = 1
    fields = ("position", "name", "role", "user")
    autocomplete_fields = ("user",)


class OverrideInline(ManagedEventInline):
    model = Override
    extra = 0
    fields = ("recurrence_id", "start", "end", "title", "venue", "venue_changed", "status", "reason")

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)

        class CheckedForm(formset.form):
            def clean(self):
                data = super().clean()
                if data.get("start") and "start" in self.changed_data:
                    try:
                        services.check_not_backdated(data["start"], request.user)  # as the API
                    except InvalidInput as exc:
                        self.add_error("start", exc.detail)
                return data

        formset.form = CheckedForm
        return formset


class AttachmentInline(ManagedEventInline):
    """Materials are listed and can be removed here; they are uploaded through the API (or the organizer's
    pages), whose checks of type, content, size, count and rate the admin's file field has none of (the
    eighth attack stored a 419 MB file of random bytes as a PDF here)."""

    model = Attachment
    extra = 0
    fields = ("name", "file", "size")
    readonly_fields = ("name", "file", "size")

    def has_add_permission(self, request, obj):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "start", "venue", "repeat_in_words", "status", "visibility")
    list_filter = ("kind", "status", "visibility", "venue")
    search_fields = ("title", "description")
    date_hierarchy = "start"
    autocomplete_fields = ("books", "papers", "organizers")
    readonly_fields = ("uid", "sequence", "created_by", "created_at", "updated_at")
    inlines = [SpeakerInline, OverrideInline, AttachmentInline]

    @admin.display(description=_("重复"), ordering="rrule")
    def repeat_in_words(self, obj: Event) -> str:
        """The rule as organizers say it (每周三 19:00，共 8 次), never the RRULE."""
        return rule_in_words(obj.rrule, obj.start)

    def get_queryset(self, request):
        # An event outside this queryset is "not found" in the admin (a redirect to the index), as for a
        # deleted one: its change, delete and history pages never open.
        return super().get_queryset(request).filter(pk__in=managed_events(request.user).values("pk"))

    def get_readonly_fields(self, request, obj=None):
        # Only superusers choose organizers: an organizer who could add people could hand an event (and
        # its registrations) to anyone.
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, "organizers")

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        adding = obj is None

        class CheckedForm(form):
            def clean(self):
                data = super().clean()
                try:
                    if adding:
                        # As the API: an organizer creates at most EVENTS_CREATED_PER_DAY events a day (the
                        # seventh attack created 63 more through this page after the API had refused).
                        services.check_creation_rate(request.user)
                    if data.get("start") and (adding or "start" in self.changed_data):
                        # As the API: nothing that began more than 400 days ago (the eighth attack created
                        # 546 series from 2000 here and crowded listings of those years).
                        services.check_not_backdated(data["start"], request.user)
                    if not adding and {"capacity", "venue"} & set(self.changed_data):
                        # As the API: seats are not lowered below the confirmed registrations.
                        seats = Event(capacity=data.get("capacity"), venue=data.get("venue")).seats
                        if seats != self.instance.seats:
                            services.event_seats_check(event=self.instance, seats=seats)
                except InvalidInput as exc:
                    self.add_error(exc.field, exc.detail)
                except DomainError as exc:
                    raise ValidationError(exc.detail, code=exc.code) from None
                return data

        return CheckedForm

    def has_add_permission(self, request):
        return super().has_add_permission(request) and user_has_role(request.user, Role.ORGANIZER)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and _may_manage(request, obj)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _may_manage(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        # The row as it was, locked until the admin's transaction ends (the change page is one transaction).
        was = Event.objects.select_for_update().values_list("start", "rrule").get(pk=obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if was is not None:
            # As event_update: a single event's check-ins follow its start.
            services.event_start_moved(event=obj, was_start=was[0], was_rrule=was[1])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            # As events.services.event_create: whoever creates an event organizes it.
            form.instance.organizers.add(request.user)
        # As the services do: its occurrences for listings, once the exceptions (inlines) are saved too.
        listing.refresh(Event.objects.select_for_update().get(pk=form.instance.pk))
        if change and {"capacity", "venue"} & set(form.changed_data):
            # As event_update: the seat counters follow the capacity and the waitlist moves up.
            services.event_seats_sync(event=form.instance)

    def get_deleted_objects(self, objs, request):
        # Deleting an event takes its registrations with it, as event_delete does in the API; a
        # registration on its own is never deleted (RegistrationAdmin), so its permission is not asked.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(Registration._meta.verbose_name)
        return deleted, counts, perms_needed, protected


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ("event", "occurrence", "user", "status", "created_at", "checked_in_at")
    list_filter = ("status",)
    search_fields = ("event__title", "user__username")
    list_select_related = ("event", "user")
    readonly_fields = ("event", "occurrence", "user", "status", "created_at", "cancelled_at")

    def get_queryset(self, request):
        # The API shows an event's registrations to its organizers only.
        return super().get_queryset(request).filter(event__in=managed_events(request.user))

    def has_add_permission(self, request):
        # Registrations go through events.services (seats, waitlist, notices).
        return False

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and _may_manage(request, obj and obj.event)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_manage(request, obj and obj.event)

    def has_delete_permission(self, request, obj=None):
        # The API cancels a registration (registration_cancel frees its seat for the waitlist); deleting
        # the row would leave the seat counted as taken.
        return False
