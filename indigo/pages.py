"""Refusals on pages, in one place (STYLE.md, "Layers, errors, permissions").

A page view that calls a service lets its `DomainError` go: `DomainErrorMiddleware` renders the translated error
page with the error's status and headers. A view catches a refusal only to show it on its own form (the claim
confirmation, a withdrawal reason); it then renders it through `refusal_message`, never a text of its own. Django's
`PermissionDenied` gets the same page (`handler403`).
"""

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views import View

from .errors import DomainError

TITLES = {
    403: _("Access denied"),
    404: _("Not found"),
    405: _("This page cannot be opened this way"),
    429: _("Too many attempts"),
    503: _("Temporarily unavailable"),
}
DEFAULT_TITLE = _("This cannot be done")


def refusal_message(error: Exception) -> str:
    """What a refusal says to people."""
    message = getattr(error, "message", None) or (error.args[0] if error.args else "")
    return str(message)


def error_page(request, error: Exception, *, status: int | None = None) -> HttpResponse:
    """The translated error page for a refusal, with its status and headers."""
    status = status or getattr(error, "status", 403)
    context = {"title": TITLES.get(status, DEFAULT_TITLE), "message": refusal_message(error), "status": status}
    response = render(request, "error.html", context, status=status)
    for name, value in getattr(error, "headers", {}).items():
        response[name] = value
    return response


def forbidden(request, exception=None):
    """handler403: the same page for every "you may not" of the site."""
    return error_page(request, exception or PermissionDenied(), status=403)


class DomainErrorMiddleware:
    """A page view's uncaught `DomainError` becomes its translated page (the API's handler answers first for
    DRF views, so only pages reach here)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):
            return error_page(request, exception)
        return None


class MethodNotAllowedPageMiddleware:
    """A page's 405 (e.g. a GET on a staff URL that only takes a form's POST) is the translated error page with
    its Allow header, not Django's empty answer; the API's 405 keeps its JSON."""

    message = _("This address only takes a form sent from the portal's pages. Go back and use the page's button.")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith("/api/"):
            return response
        page = error_page(request, DomainError(self.message, code="method_not_allowed"), status=405)
        page["Allow"] = response.get("Allow", "")
        return page


class RoleView(View):
    """A page for one kind of user: anonymous visitors go to `login_url` (the password login unless a subclass
    names another), users who are not `allowed` get the 403 page with `refusal`."""

    refusal = _("You may not open this page.")

    def allowed(self, user) -> bool:
        raise NotImplementedError

    def login_url(self) -> str | None:
        return None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), login_url=self.login_url())
        if not self.allowed(request.user):
            return error_page(request, PermissionDenied(self.refusal), status=403)
        return super().dispatch(request, *args, **kwargs)
