"""Admin of people: users, children, legal representations (confirmed or rejected here, the reason sent to the
parent), and the read-only records: logins, one-time codes (never their hash) and the audit log.

Who may use these pages: a superuser, and a department admin (role "admin" with "staff status"), by role rather
than by Django's per-model permission tables, so that a new department admin needs no permission set-up
(DOMAIN.md, Who uses it). Department admins may view and decide; nobody adds, edits or deletes these rows here.
Decisions go through the services, which check the role again and audit them.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from indigo.errors import DomainError
from indigo.http import request_ip
from schedules.calendar import ASTANA

from .models import AuditEntry, CabinetBlock, Child, LoginRecord, Notification, OtpChallenge, Representation, User
from .permissions import admin_site_access
from .services.people import representation_decide
from .sms import mask_phone

REASON_MAX_LENGTH = 500


def astana_time(value) -> str:
    """A stored (UTC) time as Astana time, to the second: the audit log's times are evidence."""
    if value is None:
        return "—"
    return date_format(timezone.localtime(value, ASTANA), "d.m.Y H:i:s")


def astana_column(field: str, description):
    """A list column showing the time field `field` in Astana time, sortable by it."""

    @admin.display(description=description, ordering=field)
    def column(modeladmin, obj) -> str:
        return astana_time(getattr(obj, field))

    return column


# --- Access ---------------------------------------------------------------------------------------------------


def is_department_admin(request) -> bool:
    return admin_site_access(request.user)


class DepartmentAdminAccess:
    """Department admins (role admin + staff status) see these pages without per-model permissions; everything
    else (add, change, delete) stays with the ModelAdmin's own rules."""

    def has_module_permission(self, request) -> bool:
        return is_department_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return is_department_admin(request) or super().has_view_permission(request, obj)

    def has_decide_permission(self, request) -> bool:
        """Confirming and rejecting: the services allow department admins and superusers only."""
        return is_department_admin(request)


class ReadOnlyMixin:
    """Viewable only: these rows change through the services (and the audit log never changes)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Rejecting with a reason (an intermediate page) -----------------------------------------------------------


class RejectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason of the rejection"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("Sent to the parent by SMS, as you type it. Say what to correct or which document to bring."),
    )


def reason_page(modeladmin, request, queryset, *, title: str, intro: str):
    """The rejection form for the selected rows, or its valid reason once posted back with it.

    Returns (reason, None) when the admin sent a valid reason, else (None, the page to show). The page posts back
    to the same action with the same selection, like Django's own delete confirmation.
    """
    form = RejectionForm(request.POST if "apply_reason" in request.POST else None)
    if form.is_valid():
        return form.cleaned_data["reason"].strip(), None
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "intro": intro,
        "form": form,
        "objects": list(queryset),
        "opts": opts,
        "action": request.POST.get("action", ""),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "select_across": request.POST.get("select_across", "0"),
        "index": request.POST.get("index", "0"),
        "media": modeladmin.media,
    }
    return None, TemplateResponse(request, "admin/indigo/reject_with_reason.html", context)


def decide_each(modeladmin, request, objects, *, confirm: bool, reason: str = "") -> None:
    """Decide every object through its service, which audits it and queues the SMS to its parent (the outbox)."""
    done = 0
    for obj in objects:
        try:
            modeladmin.decide(obj, by=request.user, confirm=confirm, reason=reason, ip=request_ip(request))
        except (DomainError, ValidationError) as exc:
            message = exc.messages[0] if isinstance(exc, ValidationError) else str(exc)
            modeladmin.message_user(request, f"{obj}: {message}", messages.ERROR)
            continue
        done += 1
    if done:
        text = (
            ngettext(
                "%(count)d confirmed; the parent was notified by SMS.",
                "%(count)d confirmed; the parents were notified by SMS.",
                done,
            )
            if confirm
            else ngettext(
                "%(count)d rejected; the parent was notified by SMS.",
                "%(count)d rejected; the parents were notified by SMS.",
                done,
            )
        )
        modeladmin.message_user(request, text % {"count": done}, messages.SUCCESS)


def skip_undecidable(modeladmin, request, queryset, *, pending):
    """Only pending rows are decided; the others are named and left alone."""
    skipped = queryset.exclude(pk__in=pending.values("pk")).count()
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d selected row is not pending confirmation and was left as it is.",
                "%(count)d selected rows are not pending confirmation and were left as they are.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


class DecisionActions:
    """Confirm or reject the pending rows of a selection through their service, each parent told by SMS (the
    service writes it to the outbox): the admin sets `pending` (the filter of undecided rows), `decided_related`
    (what the service and SMS read), `decide` and the rejection page's `rejection_title` and `rejection_intro`;
    its actions call these two."""

    pending: dict
    decided_related: tuple[str, ...] = ()
    rejection_title = ""
    rejection_intro = ""

    def decide(self, obj, **kwargs):
        raise NotImplementedError

    def confirm_selected(self, request, queryset) -> None:
        pending = queryset.filter(**self.pending)
        skip_undecidable(self, request, queryset, pending=pending)
        decide_each(self, request, pending.select_related(*self.decided_related), confirm=True)

    def reject_selected(self, request, queryset):
        pending = queryset.filter(**self.pending).select_related(*self.decided_related)
        if not pending.exists():
            skip_undecidable(self, request, queryset, pending=pending)
            return None
        reason, page = reason_page(self, request, pending, title=self.rejection_title, intro=self.rejection_intro)
        if page is not None:
            return page
        skip_undecidable(self, request, queryset, pending=pending)
        decide_each(self, request, pending, confirm=False, reason=reason)
        return None


# --- Users ----------------------------------------------------------------------------------------------------


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "kindergarten", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "first_name", "last_name", "email", "=iin", "=phone")
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Portal role"), {"fields": ("role", "kindergarten")}),
        (_("Parent"), {"fields": ("iin", "middle_name", "phone", "phone_2")}),
    )
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Portal role"), {"fields": ("role", "kindergarten")}))


# --- Children and representations ------------------------------------------------------------------------------


class RepresentationInline(admin.TabularInline):
    model = Representation
    fk_name = "child"
    fields = ("parent", "kind", "document", "status", "decision_reason", "decided_by", "decided_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        return is_department_admin(request) or super().has_view_permission(request, obj)


@admin.register(Child)
class ChildAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    """Children are registered by their parents; found here by IIN (exact) to check a representation."""

    list_display = ("__str__", "birth_date", "created_at")
    search_fields = ("=iin",)
    fields = ("iin", "last_name", "first_name", "middle_name", "birth_date", "created_at")
    inlines = [RepresentationInline]
    date_hierarchy = "created_at"


@admin.register(Representation)
class RepresentationAdmin(DecisionActions, DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("__str__", "parent", "kind", "document", "status", "created_at", "decided_by", "decided_at")
    list_filter = ("status", "kind")
    search_fields = ("=child__iin", "=parent__iin", "=parent__phone")
    search_help_text = _("The child's IIN, or the parent's IIN or phone (+7XXXXXXXXXX), exactly.")
    list_select_related = ("child", "parent", "decided_by")
    fields = (
        "parent",
        "parent_phone",
        "child",
        "child_iin",
        "kind",
        "document",
        "status",
        "decision_reason",
        "decided_by",
        "decided_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ["confirm", "reject"]

    @admin.display(description=_("phone"))
    def parent_phone(self, obj: Representation) -> str:
        return obj.parent.phone or "—"

    @admin.display(description=_("child's IIN"))
    def child_iin(self, obj: Representation) -> str:
        return obj.child.iin

    pending = {"status": Representation.Status.PENDING}
    decided_related = ("parent", "child")
    rejection_title = _("Reject legal representations")
    rejection_intro = _("These representations will be rejected and each parent will receive the reason by SMS.")

    def decide(self, obj, **kwargs):
        return representation_decide(representation=obj, **kwargs)

    @admin.action(description=_("Confirm the selected representations"), permissions=["decide"])
    def confirm(self, request, queryset):
        self.confirm_selected(request, queryset)

    @admin.action(description=_("Reject the selected representations (with a reason)"), permissions=["decide"])
    def reject(self, request, queryset):
        return self.reject_selected(request, queryset)


# --- Read-only records -----------------------------------------------------------------------------------------


@admin.register(LoginRecord)
class LoginRecordAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    # The session key is left out on purpose: it is a live credential.
    list_display = ("time", "user", "method", "ip", "user_agent")
    list_filter = ("method", "at")
    search_fields = ("=user__phone", "=user__iin", "=user__username", "=ip")
    list_select_related = ("user",)
    fields = ("user", "time", "method", "ip", "user_agent")
    readonly_fields = fields
    date_hierarchy = "at"

    time = astana_column("at", _("time (Astana)"))


@admin.register(OtpChallenge)
class OtpChallengeAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    # The code's hash is never shown: with it, a short code could be found by trying every value.
    list_display = ("phone_masked", "created", "expires", "attempts", "used", "ip")
    list_filter = ("created_at",)
    search_fields = ("=phone", "=ip")
    search_help_text = _("The phone (+7XXXXXXXXXX) or the IP address, exactly.")
    fields = ("phone", "created", "expires", "attempts", "used", "ip")
    readonly_fields = fields
    date_hierarchy = "created_at"

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: OtpChallenge) -> str:
        return mask_phone(obj.phone)

    created = astana_column("created_at", _("created at"))
    expires = astana_column("expires_at", _("expires at"))
    used = astana_column("consumed_at", _("used at"))


@admin.register(AuditEntry)
class AuditEntryAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("time", "actor", "action", "target", "ip")
    list_filter = ("action", "target_type", "at")
    search_fields = ("=target_id",)
    search_help_text = _("The object's id, exactly (e.g. the id of an application or a representation).")
    list_select_related = ("actor",)
    fields = ("time", "actor", "action", "target_type", "target_id", "ip", "details_text")
    readonly_fields = fields
    date_hierarchy = "at"
    show_full_result_count = False  # the log grows without end; counting it on every page is waste

    time = astana_column("at", _("time (Astana)"))

    @admin.display(description=_("object"))
    def target(self, obj: AuditEntry) -> str:
        if not obj.target_type:
            return "—"
        return f"{obj.target_type} #{obj.target_id}"

    @admin.display(description=_("details"))
    def details_text(self, obj: AuditEntry) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.details, ensure_ascii=False, indent=2, sort_keys=True))


@admin.register(Notification)
class NotificationAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    """The parents' SMS and their delivery (the outbox, accounts.services.notifications): support answers "did I
    get an SMS?" here."""

    list_display = ("created", "user", "kind", "status", "attempts", "phone_masked", "sent", "last_error")
    list_filter = ("status", "kind", "created_at")
    search_fields = ("=user__phone", "=user__iin", "=key")
    search_help_text = _("The parent's phone (+7XXXXXXXXXX) or IIN, or the event key, exactly.")
    list_select_related = ("user",)
    fields = (
        "user",
        "kind",
        "key",
        "language",
        "phone_masked",
        "text",
        "status",
        "attempts",
        "created",
        "next_attempt",
        "sent",
        "last_error",
    )
    readonly_fields = fields
    date_hierarchy = "created_at"
    show_full_result_count = False

    created = astana_column("created_at", _("created at"))
    sent = astana_column("sent_at", _("sent at"))
    next_attempt = astana_column("next_attempt_at", _("next attempt at"))

    @admin.display(description=_("phone"))
    def phone_masked(self, obj: Notification) -> str:
        return mask_phone(obj.phone)


# --- Cabinet blocks: read-only here ---------------------------------------------------------------------------
# Blocks are made and lifted only on the blocks pages (placement:blocks), which show the effects first and go
# through placement.services.blocks (the one place that cancels referrals, terminates contracts and audits).


class BlockStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"
    STATES = {"active": _("Active"), "lifted": _("Lifted"), "ended": _("Ended")}

    def lookups(self, request, model_admin):
        return list(self.STATES.items())

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.active_at(now)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(lifted_at__isnull=True, ends_at__lte=now)
        return queryset


@admin.register(CabinetBlock)
class CabinetBlockAdmin(DepartmentAdminAccess, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("parent", "phone", "starts", "ends", "reason", "state", "lifted", "created_by")
    list_filter = (BlockStateFilter, "starts_at")
    search_fields = ("=user__phone", "=user__iin")
    search_help_text = _("The parent's phone (+7XXXXXXXXXX) or IIN, exactly.")
    list_select_related = ("user", "created_by", "lifted_by")
    date_hierarchy = "starts_at"
    fields = ("user", "starts_at", "ends_at", "reason", "created_by", "lifted_at", "lifted_by", "lift_reason")
    readonly_fields = fields

    @admin.display(description=_("parent"), ordering="user__last_name")
    def parent(self, obj: CabinetBlock) -> str:
        return obj.user.get_full_name() or obj.user.get_username()

    @admin.display(description=_("phone"))
    def phone(self, obj: CabinetBlock) -> str:
        return mask_phone(obj.user.phone)

    starts = astana_column("starts_at", _("blocked from"))
    ends = astana_column("ends_at", _("blocked until"))

    @admin.display(description=_("state"))
    def state(self, obj: CabinetBlock) -> str:
        return BlockStateFilter.STATES[obj.state_at(timezone.now())]

    @admin.display(description=_("lifted at"), ordering="lifted_at")
    def lifted(self, obj: CabinetBlock):
        if obj.lifted_at is not None:
            return f"{astana_time(obj.lifted_at)}: {obj.lift_reason}"
        if obj.state_at(timezone.now()) == "active":
            return format_html('<a href="{}">{}</a>', reverse("placement:block-lift", args=[obj.pk]), _("Lift…"))
        return "—"
