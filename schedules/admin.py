from django.contrib import admin

from .models import CalendarOverride


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "legal_act", "note")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("legal_act", "note")
