"""Log-in pages: the parents' SMS code login (phone, then code), the staff/admin password login, recent logins.

The phone being verified and the page to return to are kept in the session, never in the URL.
"""

import functools

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import TemplateView

from indigo.http import request_ip, request_user_agent

from .models import LoginRecord
from .permissions import admin_site_access, is_department_admin
from .selectors import logins_recent
from .services.lockout import LoginLockedOut, login_lockout_check, login_lockout_start
from .services.otp import OtpError, OtpExpired, OtpInvalidPhone, OtpTooManyAttempts, otp_request, otp_verify
from .services.sessions import login_refusal, session_start
from .sms import phone_display

SESSION_PHONE = "accounts.otp_phone"
SESSION_NEXT = "accounts.otp_next"


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        help_text=_("The number you use for the queue, e.g. +7 701 123 45 67."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "12"}
        ),
    )


class LockoutFormMixin:
    """For an AuthenticationForm: a locked-out username or address is refused before the password is checked, and
    the failure that reaches the limit says so at once (accounts.services.lockout). `locked_out` keeps the lock."""

    locked_out: LoginLockedOut | None = None

    def clean(self):
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()
        attempt = {
            "username": username,
            "ip": request_ip(self.request),
            "user_agent": request_user_agent(self.request),
        }
        try:
            login_lockout_check(**attempt)
            try:
                return super().clean()
            except ValidationError as exc:
                if getattr(exc, "code", None) == "invalid_login":
                    login_lockout_start(**attempt)
                raise
        except LoginLockedOut as lock:
            self.locked_out = lock
            raise ValidationError(lock.message, code=lock.code) from None

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        refusal = login_refusal(user)
        if refusal:
            raise ValidationError(refusal, code="login_refused")


class PasswordLoginForm(LockoutFormMixin, AuthenticationForm):
    pass


class AdminPasswordLoginForm(LockoutFormMixin, AdminAuthenticationForm):
    """The Django admin's login, under the same lockout and refusals as the password page."""


def locked_out_status(response, form):
    """A login page re-rendered for a locked-out attempt answers 429 with Retry-After."""
    lock = getattr(form, "locked_out", None)
    if lock is not None:
        response.status_code = 429
        response["Retry-After"] = str(lock.retry_after)
    return response


class PasswordLoginView(auth_views.LoginView):
    """Staff and department admins log in with a password; the `user_logged_in` receiver records it. Without a
    `next`, each lands where their day starts (issue 13): staff on their kindergarten's page, department admins in
    the administration."""

    template_name = "accounts/login.html"
    authentication_form = PasswordLoginForm

    def get_default_redirect_url(self):
        user = self.request.user
        if getattr(user, "is_kindergarten_staff", False):
            return reverse("placement:staff-home")
        if admin_site_access(user):
            return reverse("admin:index")
        if is_department_admin(user):
            return reverse("placement:staff-home")
        return super().get_default_redirect_url()

    def form_invalid(self, form):
        return locked_out_status(super().form_invalid(form), form)


def admin_login_with_lockout(login_view):
    """Wraps the admin site's login view (indigo/urls.py: `admin.site.login = admin_login_with_lockout(...)`, with
    `admin.site.login_form = AdminPasswordLoginForm`): a locked-out attempt answers 429 like the password page."""
    if getattr(login_view, "with_lockout", False):
        return login_view

    @functools.wraps(login_view)
    def login(request, extra_context=None):
        response = login_view(request, extra_context)
        return locked_out_status(response, (getattr(response, "context_data", None) or {}).get("form"))

    login.with_lockout = True
    return login


def landing_url(request, candidate: str | None) -> str:
    """`next` when it points to this site, else the parent's cabinet, else the home page."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("placement:cabinet")


class OtpPhoneView(View):
    """Step 1: the parent gives the phone; a code is sent by SMS (the same answer whether an account exists)."""

    template_name = "accounts/otp_phone.html"

    def get(self, request):
        if request.GET.get("next"):
            request.session[SESSION_NEXT] = request.GET["next"]
        else:
            request.session.pop(SESSION_NEXT, None)
        form = PhoneForm(initial={"phone": request.session.get(SESSION_PHONE, "")})
        return render(request, self.template_name, {"form": form})

    def post(self, request):
        form = PhoneForm(request.POST)
        status = 200
        if form.is_valid():
            try:
                sent = otp_request(phone=form.cleaned_data["phone"], ip=request_ip(request))
            except OtpInvalidPhone as exc:
                form.add_error("phone", exc.message)
            except OtpError as exc:
                form.add_error(None, exc.message)
                status = exc.status
            else:
                request.session[SESSION_PHONE] = sent.phone
                return redirect("accounts:otp-code")
        return render(request, self.template_name, {"form": form}, status=status)


class OtpCodeView(View):
    """Step 2: the code from the SMS logs the parent in (or creates the account on the first login)."""

    template_name = "accounts/otp_code.html"

    def dispatch(self, request, *args, **kwargs):
        self.phone = request.session.get(SESSION_PHONE)
        if not self.phone:
            return redirect("accounts:otp-login")
        return super().dispatch(request, *args, **kwargs)

    def render_code(self, request, form, status=200, error=None, refusal: OtpError | None = None):
        """The code step; after a refused code, how many tries are left, or (the code dead: too many wrong tries,
        expired) a new code as the page's main action instead of the code box."""
        context = {
            "form": form,
            "error": error,
            "phone_display": phone_display(self.phone),
            "minutes": settings.OTP_TTL_SECONDS // 60,
            "tries_left": getattr(refusal, "tries_left", None),
            "code_dead": isinstance(refusal, OtpTooManyAttempts | OtpExpired),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        return self.render_code(request, CodeForm())

    def post(self, request):
        if "resend" in request.POST:
            return self.resend(request)
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self.render_code(request, form)
        try:
            user = otp_verify(
                phone=self.phone,
                code=form.cleaned_data["code"],
                ip=request_ip(request),
                user_agent=request_user_agent(request),
            )
        except OtpError as exc:
            form.add_error(None, exc.message)
            return self.render_code(request, form, refusal=exc)
        next_url = request.session.pop(SESSION_NEXT, None)
        request.session.pop(SESSION_PHONE, None)
        session_start(request=request, user=user, method=LoginRecord.Method.OTP)
        return redirect(landing_url(request, next_url))

    def resend(self, request):
        try:
            otp_request(phone=self.phone, ip=request_ip(request))
        except OtpInvalidPhone as exc:
            return self.render_code(request, CodeForm(), error=exc.message)
        except OtpError as exc:
            return self.render_code(request, CodeForm(), status=exc.status, error=exc.message)
        messages.success(request, _("A new code has been sent. The earlier code no longer works."))
        return redirect("accounts:otp-code")


class LoginListView(LoginRequiredMixin, TemplateView):
    """The user's last 20 logins, so they can see whether someone else used their cabinet."""

    template_name = "accounts/logins.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(logins=logins_recent(user=self.request.user), **kwargs)
