"""Public API: the free-places registry and the release protocol."""

urlpatterns: list = []
