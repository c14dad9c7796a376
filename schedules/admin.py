"""Admin for the working-day calendar and the summer schedules.

Every cohort window and kindergarten shift shows the dates the calendar gives it (priority end, general access
from), in the lists and on the change pages. Before saving, ticking "Only preview the computed dates" and pressing
Save computes them for the rows as typed and shows them above the rows, saving nothing: no JavaScript needed.
"""

import datetime as dt
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.checks import InlineModelAdminChecks
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TabbedTranslationAdmin, TranslationTabularInline

from .models import CalendarOverride, CohortWindow, KindergartenShift, SummerSchedule
from .selectors import WindowDates, window_dates
from .signals import change_previewed

PREVIEW_FIELD = "preview_dates"
PREVIEW_CODE = "preview"


def _day(value: dt.date) -> str:
    return date_format(value, "d.m.Y")


def dates_text(dates: WindowDates) -> str:
    return _("priority access %(start)s to %(end)s 18:00, general access from %(general)s") % {
        "start": _day(dates.priority_start),
        "end": _day(dates.priority_end),
        "general": _day(dates.general_from),
    }


def change_preview_lines(**change) -> list[str]:
    """What the apps above say a change would do (the re-timing of places and referrals), for the preview."""
    return [
        str(line)
        for _receiver, lines in change_previewed.send(sender=None, at=timezone.now(), **change)
        for line in lines or ()
    ]


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
            raise preview_error(self.preview_message(cleaned))
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


def shift_preview_lines(cleaned, instance: KindergartenShift | None) -> list[str]:
    """The re-timing a shift typed as `cleaned` would cause (`instance`: the shift as saved, if it exists)."""
    if not cleaned.get("window") or not cleaned.get("kindergarten") or not cleaned.get("shifted_start"):
        return []
    shift = KindergartenShift(
        window=cleaned["window"],
        kindergarten=cleaned["kindergarten"],
        shifted_start=cleaned["shifted_start"],
        reason=cleaned.get("reason") or "",
    )
    previous = (instance.window_id, instance.kindergarten_id) if instance is not None and instance.pk else None
    return change_preview_lines(shift=shift, previous=previous)


class KindergartenShiftForm(PreviewDatesForm):
    class Meta:
        model = KindergartenShift
        fields = ["window", "kindergarten", "shifted_start", "reason"]

    def preview_message(self, cleaned) -> list[str]:
        window = cleaned.get("window")
        dates = dates_from_start(schedule=window.schedule if window else None, start=cleaned.get("shifted_start"))
        own = [dates_text(dates)] if dates else []
        return super().preview_message(cleaned) + own + shift_preview_lines(cleaned, self.instance)


class CalendarOverrideForm(PreviewDatesForm):
    """An override, with the preview of what it would re-time before it is saved (DOMAIN.md, Places 6)."""

    class Meta:
        model = CalendarOverride
        fields = ["date", "kind", "legal_act", "note"]

    def preview_message(self, cleaned) -> list[str]:
        if not cleaned.get("date") or not cleaned.get("kind"):
            return super().preview_message(cleaned)
        override = CalendarOverride(date=cleaned["date"], kind=cleaned["kind"], legal_act=cleaned.get("legal_act", ""))
        previous = self.instance.date if self.instance.pk else None
        return super().preview_message(cleaned) + change_preview_lines(override=override, previous_date=previous)


def preview_error(lines) -> ValidationError:
    """The preview's lines as a refusal (so that nothing is saved), each coded "preview" so that the change page
    shows them as a notice rather than as errors (PreviewNoticeAdmin)."""
    return ValidationError([ValidationError(str(line), code=PREVIEW_CODE) for line in lines])


class PreviewDatesFormSetMixin:
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
            raise preview_error(lines)

    def preview_line(self, cleaned) -> str | None:
        raise NotImplementedError


class PreviewDatesFormSet(PreviewDatesFormSetMixin, forms.BaseInlineFormSet):
    pass


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
        instance = cleaned.get("id")
        retimed = shift_preview_lines({**cleaned, "window": self.instance}, instance)
        return " ".join([f"{cleaned['kindergarten']}: {dates_text(dates)}", *retimed])


class ScheduleShiftFormSet(PreviewDatesFormSetMixin, forms.BaseModelFormSet):
    """The kindergarten shifts of every window of a schedule, edited on the schedule's page (issue 13). A shift
    belongs to a window, not to the schedule, so this is a model formset over the schedule's shifts that takes the
    schedule as the admin's `instance`, each row choosing one of the schedule's windows."""

    def __init__(self, data=None, files=None, instance=None, save_as_new=False, prefix=None, queryset=None, **kwargs):
        self.instance = instance if instance is not None else SummerSchedule()
        shifts = KindergartenShift.objects.none()
        if self.instance.pk is not None and not save_as_new:
            shifts = (queryset if queryset is not None else KindergartenShift.objects.all()).filter(
                window__schedule=self.instance
            )
        super().__init__(data, files, prefix=prefix or self.get_default_prefix(), queryset=shifts, **kwargs)

    @classmethod
    def get_default_prefix(cls) -> str:
        return "shifts"

    def windows(self):
        """The windows a row may choose: this schedule's."""
        if self.instance.pk is None:
            return CohortWindow.objects.none()
        return CohortWindow.objects.filter(schedule=self.instance)

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        form.fields["window"].queryset = self.windows()
        return form

    @property
    def empty_form(self):
        form = super().empty_form
        form.fields["window"].queryset = self.windows()
        return form

    def preview_line(self, cleaned) -> str | None:
        window = cleaned.get("window")
        dates = dates_from_start(schedule=self.instance if window else None, start=cleaned.get("shifted_start"))
        if dates is None or cleaned.get("kindergarten") is None:
            return None
        retimed = shift_preview_lines(cleaned, cleaned.get("id"))
        return " ".join([f"{cleaned['kindergarten']} ({window.birth_year}): {dates_text(dates)}", *retimed])


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


# --- The preview as a notice ---


def _without_preview(errors) -> list[str]:
    """Take the preview's lines out of an ErrorList (in place); return them."""
    if not errors:
        return []
    lines = [str(error.message) for error in errors.data if getattr(error, "code", None) == PREVIEW_CODE]
    errors.data[:] = [error for error in errors.data if getattr(error, "code", None) != PREVIEW_CODE]
    return lines


class PreviewNoticeAdmin:
    """The preview is refused as a form error so that nothing is saved; this shows its lines as a neutral notice
    above the form (an info message) instead of the red "Please correct the errors below" (issue 13)."""

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        adminform = context.get("adminform")
        if adminform is not None and request.method == "POST" and request.POST.get(PREVIEW_FIELD):
            form = adminform.form
            formsets = [inline.formset for inline in context.get("inline_admin_formsets", [])]
            lines = _without_preview(form.errors.get(NON_FIELD_ERRORS))
            for formset in formsets:
                lines += _without_preview(formset.non_form_errors())
            if form.errors.get(NON_FIELD_ERRORS) is not None and not form.errors[NON_FIELD_ERRORS]:
                del form.errors[NON_FIELD_ERRORS]
            for line in lines:
                messages.info(request, line)
            context["errors"] = helpers.AdminErrorList(form, formsets)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)


class RelationThroughWindowChecks(InlineModelAdminChecks):
    def _check_relation(self, obj, parent_model):
        return []  # a shift reaches its schedule through its window: ScheduleShiftFormSet joins them


# --- Admins ----------------------------------------------------------------------------------------------


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(PreviewNoticeAdmin, admin.ModelAdmin):
    form = CalendarOverrideForm
    fields = ("date", "kind", "legal_act", "note", PREVIEW_FIELD)
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


class ScheduleShiftInline(WindowDatesColumns, TranslationTabularInline):
    """The kindergarten shifts of the schedule's windows, on the schedule's page."""

    model = KindergartenShift
    checks_class = RelationThroughWindowChecks
    fields = ("window", "kindergarten", "shifted_start", "reason", "priority_end", "general_from")
    readonly_fields = ("priority_end", "general_from")
    autocomplete_fields = ("kindergarten",)
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        can_delete = self.can_delete and self.has_delete_permission(request, obj)
        return forms.modelformset_factory(
            self.model,
            form=self.form,
            formset=ScheduleShiftFormSet,
            # The fields as the admin (and modeltranslation, which adds reason_ru, reason_kk...) lays them out.
            fields=flatten_fieldsets(self.get_fieldsets(request, obj)),
            exclude=list(self.get_readonly_fields(request, obj)),
            formfield_callback=partial(self.formfield_for_dbfield, request=request),
            extra=self.get_extra(request, obj),
            min_num=self.get_min_num(request, obj),
            max_num=self.get_max_num(request, obj),
            can_delete=can_delete,
        )


@admin.register(SummerSchedule)
class SummerScheduleAdmin(PreviewNoticeAdmin, TabbedTranslationAdmin):
    form = SummerScheduleForm
    list_display = ("city", "year", "campaign_start", "windows_dates")
    list_display_links = ("city", "year")
    list_filter = ("city", "year")
    list_select_related = ("city",)
    fieldsets = (
        (None, {"fields": ("city", "year", "campaign_start", "note")}),
        (_("Preview"), {"fields": (PREVIEW_FIELD,)}),
    )
    inlines = [CohortWindowInline, ScheduleShiftInline]

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
class CohortWindowAdmin(PreviewNoticeAdmin, WindowDatesColumns, admin.ModelAdmin):
    form = CohortWindowForm
    list_display = ("schedule", "birth_year", "age", "priority_start", "priority_end", "general_from")
    list_display_links = ("schedule", "birth_year")
    list_filter = ("schedule__city", "schedule__year", "birth_year")
    list_select_related = ("schedule", "schedule__city")
    fields = ("schedule", "birth_year", "age", "priority_start", "priority_end", "general_from", PREVIEW_FIELD)
    readonly_fields = ("priority_end", "general_from")
    inlines = [KindergartenShiftInline]


@admin.register(KindergartenShift)
class KindergartenShiftAdmin(PreviewNoticeAdmin, WindowDatesColumns, TabbedTranslationAdmin):
    form = KindergartenShiftForm
    list_display = ("kindergarten", "window", "shifted_start", "priority_end", "general_from", "reason")
    list_filter = ("window__schedule__city", "window__schedule__year", "window__birth_year")
    list_select_related = ("kindergarten", "window", "window__schedule", "window__schedule__city")
    search_fields = ("kindergarten__code", "kindergarten__name", "reason")
    autocomplete_fields = ("kindergarten",)
    fields = ("window", "kindergarten", "shifted_start", "reason", "priority_end", "general_from", PREVIEW_FIELD)
    readonly_fields = ("priority_end", "general_from")
