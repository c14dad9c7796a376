"""Admin for the working-day calendar and the summer schedules.

Every cohort window and kindergarten shift shows the dates the calendar gives it (priority end, general access
from), in the lists and on the change pages. Before saving, ticking "Only preview the computed dates" and pressing
Save computes them for the rows as typed and shows them above the rows, saving nothing: no JavaScript needed.
"""

import datetime as dt

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TabbedTranslationAdmin, TranslationTabularInline

from .models import CalendarOverride, CohortWindow, KindergartenShift, SummerSchedule
from .selectors import WindowDates, window_dates

PREVIEW_FIELD = "preview_dates"


def _day(value: dt.date) -> str:
    return date_format(value, "d.m.Y")


def dates_text(dates: WindowDates) -> str:
    return _("priority access %(start)s to %(end)s 18:00, general access from %(general)s") % {
        "start": _day(dates.priority_start),
        "end": _day(dates.priority_end),
        "general": _day(dates.general_from),
    }


def dates_from_start(*, schedule: SummerSchedule | None, start: dt.date | None) -> WindowDates | None:
    """The dates a window starting on `start` would give, before anything is saved (None without a city)."""
    if schedule is None or start is None or getattr(schedule, "city_id", None) is None:
        return None
    return window_dates(window=CohortWindow(schedule=schedule, priority_start=start))


# --- Preview before saving -------------------------------------------------------------------------------


class PreviewDatesForm(forms.ModelForm):
    """A box that turns Save into a preview: nothing is saved, the computed dates are shown with the rows."""

    preview_dates = forms.BooleanField(
        label=_("Only preview the computed dates"),
        required=False,
        help_text=_(
            "Tick it and press Save: the dates the working-day calendar gives each row are shown above the rows "
            "and nothing is saved. Untick it to save."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get(PREVIEW_FIELD):
            raise ValidationError(self.preview_message(cleaned), code="preview")
        return cleaned

    def preview_message(self, cleaned) -> list[str]:
        return [str(_("Preview only: nothing was saved. Untick the preview box to save."))]


class CohortWindowForm(PreviewDatesForm):
    class Meta:
        model = CohortWindow
        fields = ["schedule", "birth_year", "age", "priority_start"]

    def preview_message(self, cleaned) -> list[str]:
        dates = dates_from_start(schedule=cleaned.get("schedule"), start=cleaned.get("priority_start"))
        own = [dates_text(dates)] if dates else []
        return super().preview_message(cleaned) + own


class KindergartenShiftForm(PreviewDatesForm):
    class Meta:
        model = KindergartenShift
        fields = ["window", "kindergarten", "shifted_start", "reason"]

    def preview_message(self, cleaned) -> list[str]:
        window = cleaned.get("window")
        dates = dates_from_start(schedule=window.schedule if window else None, start=cleaned.get("shifted_start"))
        own = [dates_text(dates)] if dates else []
        return super().preview_message(cleaned) + own


class PreviewDatesFormSet(forms.BaseInlineFormSet):
    """Inline rows: with the preview box ticked, their computed dates are reported (and so nothing is saved)."""

    def clean(self):
        super().clean()
        if not self.data.get(PREVIEW_FIELD):
            return
        lines = []
        for form in self.forms:
            cleaned = getattr(form, "cleaned_data", None) or {}
            if cleaned.get("DELETE"):
                continue
            line = self.preview_line(cleaned)
            if line:
                lines.append(line)
        if lines:
            raise ValidationError(lines, code="preview")

    def preview_line(self, cleaned) -> str | None:
        raise NotImplementedError


class CohortWindowFormSet(PreviewDatesFormSet):
    def preview_line(self, cleaned) -> str | None:
        dates = dates_from_start(schedule=self.instance, start=cleaned.get("priority_start"))
        if dates is None:
            return None
        return f"{cleaned.get('birth_year')}: {dates_text(dates)}"


class KindergartenShiftFormSet(PreviewDatesFormSet):
    def preview_line(self, cleaned) -> str | None:
        schedule = getattr(self.instance, "schedule", None) if self.instance.schedule_id else None
        dates = dates_from_start(schedule=schedule, start=cleaned.get("shifted_start"))
        if dates is None or cleaned.get("kindergarten") is None:
            return None
        return f"{cleaned['kindergarten']}: {dates_text(dates)}"


# --- Computed columns ------------------------------------------------------------------------------------


class WindowDatesColumns:
    """Read-only columns with the dates a saved window (or shift) gives."""

    def dates_of(self, obj) -> WindowDates | None:
        if obj is None or obj.pk is None:
            return None
        if isinstance(obj, KindergartenShift):
            return window_dates(window=obj.window, shift=obj)
        return window_dates(window=obj)

    @admin.display(description=_("priority access ends (18:00)"))
    def priority_end(self, obj) -> str:
        dates = self.dates_of(obj)
        return _day(dates.priority_end) if dates else "—"

    @admin.display(description=_("general access from"))
    def general_from(self, obj) -> str:
        dates = self.dates_of(obj)
        return _day(dates.general_from) if dates else "—"


# --- Admins ----------------------------------------------------------------------------------------------


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "legal_act", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("legal_act", "note")


class CohortWindowInline(WindowDatesColumns, admin.TabularInline):
    model = CohortWindow
    formset = CohortWindowFormSet
    fields = ("birth_year", "age", "priority_start", "priority_end", "general_from")
    readonly_fields = ("priority_end", "general_from")
    extra = 0
    show_change_link = True


class SummerScheduleForm(PreviewDatesForm):
    class Meta:
        model = SummerSchedule
        fields = ["city", "year", "campaign_start", "note"]


@admin.register(SummerSchedule)
class SummerScheduleAdmin(TabbedTranslationAdmin):
    form = SummerScheduleForm
    list_display = ("city", "year", "campaign_start", "windows_dates")
    list_display_links = ("city", "year")
    list_filter = ("city", "year")
    list_select_related = ("city",)
    fieldsets = (
        (None, {"fields": ("city", "year", "campaign_start", "note")}),
        (_("Preview"), {"fields": (PREVIEW_FIELD,)}),
    )
    inlines = [CohortWindowInline]

    @admin.display(description=_("cohort windows"))
    def windows_dates(self, schedule: SummerSchedule) -> str:
        return "; ".join(
            f"{window.birth_year}: {dates_text(window_dates(window=window))}" for window in schedule.windows.all()
        )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("windows")


class KindergartenShiftInline(WindowDatesColumns, TranslationTabularInline):
    model = KindergartenShift
    formset = KindergartenShiftFormSet
    fields = ("kindergarten", "shifted_start", "reason", "priority_end", "general_from")
    readonly_fields = ("priority_end", "general_from")
    autocomplete_fields = ("kindergarten",)
    extra = 0


@admin.register(CohortWindow)
class CohortWindowAdmin(WindowDatesColumns, admin.ModelAdmin):
    form = CohortWindowForm
    list_display = ("schedule", "birth_year", "age", "priority_start", "priority_end", "general_from")
    list_display_links = ("schedule", "birth_year")
    list_filter = ("schedule__city", "schedule__year", "birth_year")
    list_select_related = ("schedule", "schedule__city")
    fields = ("schedule", "birth_year", "age", "priority_start", "priority_end", "general_from", PREVIEW_FIELD)
    readonly_fields = ("priority_end", "general_from")
    inlines = [KindergartenShiftInline]


@admin.register(KindergartenShift)
class KindergartenShiftAdmin(WindowDatesColumns, TabbedTranslationAdmin):
    form = KindergartenShiftForm
    list_display = ("kindergarten", "window", "shifted_start", "priority_end", "general_from", "reason")
    list_filter = ("window__schedule__city", "window__schedule__year", "window__birth_year")
    list_select_related = ("kindergarten", "window", "window__schedule", "window__schedule__city")
    search_fields = ("kindergarten__code", "kindergarten__name", "reason")
    autocomplete_fields = ("kindergarten",)
    fields = ("window", "kindergarten", "shifted_start", "reason", "priority_end", "general_from", PREVIEW_FIELD)
    readonly_fields = ("priority_end", "general_from")
