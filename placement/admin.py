"""Admin for cities, kindergartens and groups (translated, with modeltranslation tabs) and the read-only
chronology: places, their events and the published protocols change only through the services."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TabbedTranslationAdmin, TranslationTabularInline

from .models import City, Group, Kindergarten, Place, PlaceEvent, Protocol


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewable, never added, changed or deleted here: the chronology is append-only (DOMAIN.md, The 18:00 run)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(City)
class CityAdmin(TabbedTranslationAdmin):
    list_display = ("name", "slug", "priority_working_days")
    search_fields = ("name", "slug")


class GroupInline(TranslationTabularInline):
    model = Group
    fields = ("name", "birth_year", "language", "group_type")
    extra = 0


@admin.register(Kindergarten)
class KindergartenAdmin(TabbedTranslationAdmin):
    list_display = ("code", "name", "city", "district", "phone")
    list_display_links = ("code", "name")
    list_filter = ("city",)
    search_fields = ("code", "name", "address", "district")
    list_select_related = ("city",)
    inlines = [GroupInline]
    fieldsets = (
        (None, {"fields": ("city", "code", "name", "district", "address")}),
        (_("Contacts and location"), {"fields": ("phone", "email", "latitude", "longitude")}),
    )


@admin.register(Group)
class GroupAdmin(TabbedTranslationAdmin):
    list_display = ("__str__", "kindergarten", "birth_year", "language", "group_type")
    list_filter = ("kindergarten__city", "birth_year", "language", "group_type")
    search_fields = ("name", "kindergarten__code", "kindergarten__name")
    list_select_related = ("kindergarten", "kindergarten__city")
    autocomplete_fields = ("kindergarten",)


@admin.register(Place)
class PlaceAdmin(ReadOnlyAdmin):
    list_display = ("id", "kindergarten", "group", "state", "released_at", "entered_priority_at", "priority_until")
    list_filter = ("city", "state", "group__birth_year", "group__language", "group__group_type")
    search_fields = ("=id", "kindergarten__code", "kindergarten__name")
    list_select_related = ("kindergarten", "group", "group__kindergarten")
    date_hierarchy = "released_at"


@admin.register(PlaceEvent)
class PlaceEventAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "kind",
        "place_number",
        "kindergarten",
        "birth_year",
        "language",
        "group_type",
        "access",
        "by",
    )
    list_filter = ("city", "kind", "protocol_day", "access", "language", "group_type")
    search_fields = ("=place__id", "kindergarten__code", "reason")
    list_select_related = ("kindergarten", "by")
    date_hierarchy = "at"

    @admin.display(description=_("place"), ordering="place_id")
    def place_number(self, event: PlaceEvent) -> str:
        return f"#{event.place_id}"


@admin.register(Protocol)
class ProtocolAdmin(ReadOnlyAdmin):
    list_display = ("day", "city", "published_at", "entry_count", "sha256")
    list_filter = ("city",)
    date_hierarchy = "day"
    list_select_related = ("city",)
