import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.urls import reverse
from django.utils.translation import gettext
from django.views.defaults import page_not_found
from django.views.defaults import server_error as default_server_error
from django.views.generic import TemplateView

logger = logging.getLogger("indigo.unavailable")

# The database refused or lost the connection (a restart, a failover, too many clients) or gave up on a lock:
# the request may succeed in a moment. Django wraps the driver's errors in these two classes.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


class HomeView(TemplateView):
    template_name = "home.html"


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
        if isinstance(exception, DATABASE_UNAVAILABLE):
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
