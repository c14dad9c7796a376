"""Cabinet blocks in the Django admin: a read-only list with filters (DOMAIN.md, People and security).

Blocks are made and lifted only on the blocks pages (`accounts:blocks`), which show the effects first and go
through `accounts.services.blocks` (the one place that cancels referrals, terminates contracts and audits). Here
department admins and superusers look them up. Registered by accounts/admin.py:
`admin.site.register(CabinetBlock, CabinetBlockAdmin)`.
"""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import CabinetBlock
from .sms import mask_phone


def _astana(value) -> str:
    return date_format(timezone.localtime(value), "d.m.Y H:i") if value else "—"


class BlockStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("lifted", _("Lifted")), ("ended", _("Ended"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        not_lifted = Q(lifted_at__isnull=True)
        if self.value() == "active":
            return queryset.filter(not_lifted, starts_at__lte=now, ends_at__gt=now)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        if self.value() == "ended":
            return queryset.filter(not_lifted, ends_at__lte=now)
        return queryset


class CabinetBlockAdmin(admin.ModelAdmin):
    list_display = ("parent", "phone", "starts", "ends", "reason", "state", "lifted", "created_by")
    list_filter = (BlockStateFilter, "starts_at")
    search_fields = ("=user__phone", "=user__iin")
    search_help_text = _("The parent's phone (+7XXXXXXXXXX) or IIN, exactly.")
    list_select_related = ("user", "created_by", "lifted_by")
    date_hierarchy = "starts_at"
    fields = (
        "user",
        "starts_at",
        "ends_at",
        "reason",
        "created_by",
        "lifted_at",
        "lifted_by",
        "lift_reason",
    )
    readonly_fields = fields

    # Department admins (role admin with staff status) and superusers see the list without per-model permissions.
    @staticmethod
    def _is_department_admin(request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or user.is_department_admin))

    def has_module_permission(self, request) -> bool:
        return self._is_department_admin(request) or super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._is_department_admin(request) or super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("parent"), ordering="user__last_name")
    def parent(self, obj: CabinetBlock) -> str:
        return obj.user.get_full_name() or obj.user.get_username()

    @admin.display(description=_("phone"))
    def phone(self, obj: CabinetBlock) -> str:
        return mask_phone(obj.user.phone)

    @admin.display(description=_("blocked from"), ordering="starts_at")
    def starts(self, obj: CabinetBlock) -> str:
        return _astana(obj.starts_at)

    @admin.display(description=_("blocked until"), ordering="ends_at")
    def ends(self, obj: CabinetBlock) -> str:
        return _astana(obj.ends_at)

    @admin.display(description=_("state"))
    def state(self, obj: CabinetBlock) -> str:
        now = timezone.now()
        if obj.lifted_at is not None:
            return _("Lifted")
        if obj.starts_at <= now < obj.ends_at:
            return _("Active")
        return _("Ended")

    @admin.display(description=_("lifted at"), ordering="lifted_at")
    def lifted(self, obj: CabinetBlock):
        if obj.lifted_at is None:
            if obj.starts_at <= timezone.now() < obj.ends_at:
                return format_html('<a href="{}">{}</a>', reverse("accounts:block-lift", args=[obj.pk]), _("Lift…"))
            return "—"
        return f"{_astana(obj.lifted_at)}: {obj.lift_reason}"
