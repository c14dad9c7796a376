from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "kindergarten", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (*BaseUserAdmin.fieldsets, (_("Portal role"), {"fields": ("role", "kindergarten")}))
    add_fieldsets = (*BaseUserAdmin.add_fieldsets, (_("Portal role"), {"fields": ("role", "kindergarten")}))
