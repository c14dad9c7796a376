"""Admin for cities, kindergartens and groups (translated, with modeltranslation tabs) and the read-only
chronology: places, their events and the published protocols change only through the services. Applications:
searched and viewed, privileges confirmed or rejected (issue 4)."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TabbedTranslationAdmin, TranslationTabularInline

from accounts.admin import DecisionActions, DepartmentAdminAccess, ReadOnlyMixin, astana_column

from .errors import ApplicationNotPaused
from .models import Application, ApplicationChoice, City, Group, Kindergarten, Offer, Place, PlaceEvent, Protocol
from .models.queue import application_number_normalize
from .selectors.cohorts import applications_of_unserved_cohorts
from .selectors.queue import queue_position
from .services.applications import application_privilege_decide
from .services.offers import application_resume_by_admin


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """Viewable, never added, changed or deleted here: the chronology is append-only (DOMAIN.md, The 18:00 run)."""


@admin.register(City)
class CityAdmin(TabbedTranslationAdmin):
    list_display = ("name", "slug", "priority_working_days", "allocation_mode")
    list_filter = ("allocation_mode",)
    search_fields = ("name", "slug")
    fieldsets = (
        (None, {"fields": ("name", "slug")}),
        (
            _("Queue and priority access"),
            {"fields": ("priority_working_days", "queue_general_per_priority", "referral_holdout_days")},
        ),
        (
            # Offer mode (issue 14; DOMAIN.md, Allocation modes): how priority places reach the queue.
            _("Allocation"),
            {"fields": ("allocation_mode", "choices_max", "offer_working_days")},
        ),
    )


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
    exclude = ("reason",)  # shown in words: the portal's own reasons are codes
    readonly_fields = ("reason_in_words",)

    @admin.display(description=_("place"), ordering="place_id")
    def place_number(self, event: PlaceEvent) -> str:
        return f"#{event.place_id}"

    @admin.display(description=_("reason"))
    def reason_in_words(self, event: PlaceEvent) -> str:
        return event.reason_label


@admin.register(Protocol)
class ProtocolAdmin(ReadOnlyAdmin):
    list_display = ("day", "city", "published_at", "entry_count", "sha256")
    list_filter = ("city",)
    date_hierarchy = "day"
    list_select_related = ("city",)


# --- Offer mode (issue 14) ---------------------------------------------------------------------------------------
# Offers change only through the services (the 18:00 run makes them, the parent answers): read-only here.


@admin.register(Offer)
class OfferAdmin(DepartmentAdminAccess, ReadOnlyAdmin):
    list_display = (
        "id",
        "made",
        "kindergarten",
        "place_number",
        "queue_position",
        "rank",
        "state",
        "deadline",
        "decided",
        "application",
    )
    list_filter = ("kindergarten__city", "state", "protocol_day")
    search_fields = ("=application__number", "=place__id")
    list_select_related = ("kindergarten", "application")
    date_hierarchy = "made_at"
    fields = (
        "place",
        "kindergarten",
        "application",
        "parent",
        "rank",
        "queue_position",
        "made_at",
        "valid_until",
        "state",
        "decided_at",
        "reason",
        "referral",
        "protocol_day",
    )

    made = astana_column("made_at", _("made at"))
    deadline = astana_column("valid_until", _("valid until"))
    decided = astana_column("decided_at", _("decided at"))

    @admin.display(description=_("place"), ordering="place_id")
    def place_number(self, offer: Offer) -> str:
        return f"#{offer.place_id}"

    @admin.display(description=_("reason"))
    def reason(self, offer: Offer) -> str:
        return offer.close_reason_label


class ApplicationChoiceInline(DepartmentAdminAccess, ReadOnlyMixin, admin.TabularInline):
    """The application's ranked kindergartens, as the parent chose them (changed through the cabinet and the API,
    which audit every edit)."""

    model = ApplicationChoice
    fields = ("rank", "kindergarten")
    readonly_fields = ("rank", "kindergarten")
    extra = 0
    verbose_name_plural = _("kindergarten choices (offer mode)")


# --- The queue (issue 4) ------------------------------------------------------------------------------------------
# Applications change only through the services (a parent applies and withdraws; a department admin confirms or
# rejects a privilege here, and the parent gets the decision by SMS). The list shows no name and no IIN: a child's
# personal data appears on the application's own page only.


class CohortServedFilter(admin.SimpleListFilter):
    """Applications for a birth year no group of their city takes (DOMAIN.md, Queue: such applications are refused
    now; those queued before are left as they are, and the admin finds them here)."""

    title = _("cohort served")
    parameter_name = "cohort_served"

    def lookups(self, request, model_admin):
        return [("no", _("No group of this birth year in the city"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return applications_of_unserved_cohorts(queryset)
        return queryset


@admin.register(Application)
class ApplicationAdmin(DecisionActions, DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "city",
        "birth_year",
        "queue_category",
        "privilege",
        "privilege_status",
        "status",
        "applied",
        "position",
    )
    list_filter = ("city", "birth_year", "queue_category", "privilege_status", "status", CohortServedFilter)
    search_fields = ("number", "child__iin")  # matched exactly, see get_search_results
    search_help_text = _("The application number (XXXX-XXXX-XXXX) or the child's IIN, exactly.")
    list_select_related = ("city",)
    list_per_page = 100  # positions are computed per row (three index counts each)
    show_full_result_count = False
    fieldsets = (
        (
            None,
            {"fields": ("number", "city", "birth_year", "language", "group_type", "status", "applied", "position")},
        ),
        (_("Privilege"), {"fields": ("privilege", "privilege_document", "privilege_status", "privilege_reason")}),
        (
            _("Child and applicant"),
            {"fields": ("child_name", "child_iin", "child_birth_date", "parent", "parent_phone")},
        ),
        (_("History"), {"fields": ("status_changed_at", "held_until")}),
        (_("Offer mode"), {"fields": ("any_other", "paused_at", "resumed_at")}),
    )
    inlines = [ApplicationChoiceInline]
    readonly_fields = (
        "number",
        "city",
        "birth_year",
        "language",
        "group_type",
        "status",
        "applied",
        "position",
        "privilege",
        "privilege_document",
        "privilege_status",
        "privilege_reason",
        "child_name",
        "child_iin",
        "child_birth_date",
        "parent",
        "parent_phone",
        "status_changed_at",
        "held_until",
        "any_other",
        "paused_at",
        "resumed_at",
    )
    actions = ["confirm_privilege", "reject_privilege", "resume_paused"]

    def get_search_results(self, request, queryset, search_term):
        """Exact matches only, on the indexed columns: an application number or a child's IIN, nothing fuzzy."""
        term = "".join(search_term.split())
        if not term:
            return queryset, False
        if len(term) == 12 and term.isdigit():
            return queryset.filter(child__iin=term), False
        return queryset.filter(number=application_number_normalize(term) or term.upper()), False

    applied = astana_column("applied_at", _("applied at"))

    @admin.display(description=_("queue position"))
    def position(self, obj: Application):
        return queue_position(obj) or "—"

    @admin.display(description=_("child"))
    def child_name(self, obj: Application) -> str:
        child = obj.child
        return " ".join(part for part in (child.last_name, child.first_name, child.middle_name) if part)

    @admin.display(description=_("child's IIN"))
    def child_iin(self, obj: Application) -> str:
        return obj.child.iin

    @admin.display(description=_("date of birth"))
    def child_birth_date(self, obj: Application) -> str:
        return date_format(obj.child.birth_date, "d.m.Y")

    @admin.display(description=_("phone"))
    def parent_phone(self, obj: Application) -> str:
        return obj.parent.phone or "—"

    pending = {"privilege_status": Application.PrivilegeStatus.PENDING}
    decided_related = ("parent", "city")
    rejection_title = _("Reject privileges")
    rejection_intro = _(
        "The privileges of these applications will be rejected: they will rank as general, and each parent will "
        "receive the reason by SMS."
    )

    def decide(self, obj, **kwargs):
        return application_privilege_decide(application=obj, **kwargs)

    @admin.action(description=_("Confirm the privilege of the selected applications"), permissions=["decide"])
    def confirm_privilege(self, request, queryset):
        self.confirm_selected(request, queryset)

    @admin.action(
        description=_("Reject the privilege of the selected applications (with a reason)"), permissions=["decide"]
    )
    def reject_privilege(self, request, queryset):
        return self.reject_selected(request, queryset)

    @admin.action(
        description=_("Resume the selected paused applications (offer mode, past the parent's 28 days)"),
        permissions=["decide"],
    )
    def resume_paused(self, request, queryset):
        resumed = 0
        now = timezone.now()
        for application in queryset.filter(paused_at__isnull=False).order_by("pk"):
            try:
                application_resume_by_admin(application=application, by=request.user, at=now)
            except ApplicationNotPaused:
                continue  # resumed meanwhile by its parent
            resumed += 1
        self.message_user(request, _("Applications resumed: %(count)s.") % {"count": resumed}, messages.SUCCESS)
