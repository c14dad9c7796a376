"""/api/v1/auth/: the parents' SMS login for API clients."""

from django.urls import path

from . import api

urlpatterns = [
    path("otp/", api.OtpRequestView.as_view(), name="api-auth-otp"),
    path("otp/verify/", api.OtpVerifyView.as_view(), name="api-auth-otp-verify"),
    path("logout/", api.LogoutView.as_view(), name="api-auth-logout"),
]
