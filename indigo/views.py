import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.template import loader
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from django.views.generic import TemplateView

logger = logging.getLogger("indigo.unavailable")

# The database refused or lost the connection (a restart, a failover, too many clients): the request may succeed
# in a moment. Django wraps the driver's errors in OperationalError/InterfaceError; an OperationalError with an
# SQLSTATE outside these (a deadlock, a statement timeout, a missing table) is a bug or a load problem, and stays
# a 500 with its traceback. Connection failures carry no SQLSTATE, or class 08, or the shutdown codes.
CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
RETRY_AFTER_SECONDS = 5


def _is_connection_failure(exception: BaseException) -> bool:
    if isinstance(exception, InterfaceError):
        return True
    if not isinstance(exception, OperationalError):
        return False
    driver = exception.__cause__
    sqlstate = getattr(driver, "sqlstate", None) or getattr(driver, "pgcode", None)
    if sqlstate is None:
        # PostgreSQL sends an SQLSTATE with every error it reports; none means the connection itself failed. On
        # SQLite (the embedded default) only a locked database is transient.
        return getattr(driver, "sqlite_errorname", None) in (None, "SQLITE_BUSY")
    return sqlstate.startswith(CONNECTION_SQLSTATES)


class HomeView(TemplateView):
    template_name = "home.html"


def favicon(request):
    """/favicon.ico, which browsers ask for on pages that name no icon (the admin, the API docs)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def not_found(request, exception=None):
    """404: JSON under /api/ (a path parameter the URL refuses still gets the API's shape), the page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"reason": "not_found", "detail": gettext("Not found.")}, status=404)
    return page_not_found(request, exception)


def database_unavailable(exception: BaseException | None) -> BaseException | None:
    """The database error behind the exception (itself, or one it was raised from), if the database cannot be
    used right now; else None."""
    seen = 0
    while exception is not None and seen < 5:
        if _is_connection_failure(exception):
            return exception
        exception, seen = exception.__cause__ or exception.__context__, seen + 1
    return None


def service_unavailable(request, exception: BaseException | None = None):
    """503 with Retry-After while the database is unreachable: JSON under /api/, a page elsewhere.

    The page reads nothing from the database (no menu, no session, no support hours), so it renders while the
    database is down. Whatever the request was writing was in a transaction the database rolled back when the
    connection broke, so nothing is half-written; the client is told to try again. (Had the connection broken
    during the COMMIT itself, the write may have been kept: a claim tried again answers 200 with the same
    referral, so the retry is safe.)
    """
    logger.warning(
        "database unavailable: %s %s answered 503 (%s: %s)",
        request.method,
        request.path,
        exception.__class__.__name__ if exception is not None else "unknown",
        str(exception).strip().splitlines()[0] if exception is not None and str(exception).strip() else "",
    )
    if request.path.startswith("/api/"):
        body = {"reason": "unavailable", "detail": gettext("The service is temporarily unavailable; try again soon.")}
        response = JsonResponse(body, status=503)
    else:
        retry_url = request.get_full_path() if request.method == "GET" else reverse("home")
        html = loader.get_template("503.html").render({"retry_url": retry_url})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # Logged above, once and with the cause: django.request would add an ERROR line for the same 503.
    response._has_been_logged = True
    return response


def server_error(request):
    """handler500: an error the middleware could not catch (one raised by a middleware itself, e.g. saving the
    session) is still a 503 when the database is what failed; anything else is Django's 500 page."""
    cause = database_unavailable(sys.exc_info()[1])
    if cause is not None:
        return service_unavailable(request, cause)
    return default_server_error(request)
