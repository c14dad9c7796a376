"""Staff API: release and withdraw places of one's own kindergarten."""

urlpatterns: list = []
