"""/api/v1/: each app contributes its routes here."""

urlpatterns: list = []
