"""Public API: summer schedules."""

urlpatterns: list = []
