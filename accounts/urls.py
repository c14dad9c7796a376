from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    # Staff and department admins: password.
    path("login/", views.PasswordLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Parents: phone, then the code from the SMS.
    path("sms/", views.OtpPhoneView.as_view(), name="otp-login"),
    path("sms/code/", views.OtpCodeView.as_view(), name="otp-code"),
    path("logins/", views.LoginListView.as_view(), name="logins"),
]
