"""Kindergarten staff pages (login required; own kindergarten only)."""

urlpatterns: list = []
