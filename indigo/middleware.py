"""Content-Security-Policy on every response (issue 7, Production settings; docs/SECURITY.md), a clean 503
when the database is unreachable (issue 7, Faults; DatabaseUnavailableMiddleware at the end), and the request
latency histogram for operators (issue 15; RequestMetricsMiddleware first, indigo/metrics.py).

The portal's own pages carry no inline script, inline style or ``on*=`` attribute (tests/security/test_headers.py
greps the templates), so the policy allows scripts, styles and fonts from the portal's own origin only: an
injected ``<script>`` or event handler does not run. Frames are refused (``frame-ancestors 'none'``, with
``X-Frame-Options: DENY`` for older browsers), and forms post only to the portal.

One exception: the browsable API docs (``/api/docs/``, drf-spectacular's Swagger UI from the sidecar) start Swagger
UI with an inline script that embeds the CSRF token, so its text changes with every response and a hash cannot
name it. That page alone allows inline scripts and styles; it shows no personal data and takes no input but the
API token a developer types. Switching the route to ``SpectacularSwaggerSplitView`` (which serves the same script
from the view's own URL) would let this exception go.
"""

import time

from django.urls import NoReverseMatch, reverse

from .actors import acting
from .metrics import request_observe

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "frame-ancestors": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}

# Swagger UI's inline start-up script and inline <style> (see the module docstring).
API_DOCS_POLICY = {
    **POLICY,
    "script-src": "'self' 'unsafe-inline'",
    "style-src": "'self' 'unsafe-inline'",
}

HEADER = "Content-Security-Policy"


def policy_header(policy: dict[str, str]) -> str:
    return "; ".join(f"{directive} {sources}" for directive, sources in policy.items())


class ContentSecurityPolicyMiddleware:
    """Adds the portal's Content-Security-Policy unless a view has set one of its own."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy_header(POLICY)
        self.api_docs_header = policy_header(API_DOCS_POLICY)
        self._api_docs_path: str | None = None

    def api_docs_path(self) -> str:
        if self._api_docs_path is None:
            try:
                self._api_docs_path = reverse("api-docs")
            except NoReverseMatch:
                self._api_docs_path = ""
        return self._api_docs_path

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            docs = self.api_docs_path()
            response[HEADER] = self.api_docs_header if docs and request.path == docs else self.header
        return response


class DatabaseUnavailableMiddleware:
    """Turns a lost or refused database connection in a view into a clean 503 (issue 7, Faults).

    Last in MIDDLEWARE, so its ``process_exception`` sees a view's exception first (DRF re-raises the exceptions
    its handler does not know). The error of a middleware itself goes to ``handler500`` (indigo.views.server_error),
    which answers the same way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from .views import database_unavailable, service_unavailable

        cause = database_unavailable(exception)
        return service_unavailable(request, cause) if cause is not None else None


class RequestMetricsMiddleware:
    """Observes every request's time under its route name (indigo.metrics.request_observe).

    First in MIDDLEWARE, so that it times the whole stack, including what the middleware below it answers alone
    (static files, redirects). One clock pair and one observation: it runs on every request, the claim storm's too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        request_observe(request=request, status=response.status_code, seconds=time.perf_counter() - started)
        return response


class ActorMiddleware:
    """The request's user acts in what its saves set off through signals (indigo.actors): the re-timing an edit of
    the calendar or of a schedule causes is audited as theirs, whichever page (or cascade) saved it. After Django's
    AuthenticationMiddleware; the user is read only if a signal asks."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with acting(getattr(request, "user", None)):
            return self.get_response(request)
