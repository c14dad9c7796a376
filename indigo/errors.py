"""One error model for the whole portal (STYLE.md, "Layers, errors, permissions").

A service that refuses raises a `DomainError`: a machine `code`, a translated `message` for people and the HTTP
`status` it answers with (plus `headers`, e.g. Retry-After). Nobody builds a refusal by hand: the API's one
exception handler (`indigo.api.exception_handler`) turns it into `{"reason": code, "detail": message}`, and pages
turn it into the translated error page in one place (`indigo.pages`), unless a view shows it on its own form.

Each app declares its refusals as subclasses with their own code, message and status; a refusal whose message
depends on the case passes it to the constructor.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refused request: `code` for machines, `message` (translated) for people, `status` for HTTP."""

    code = "refused"
    message = _("The request cannot be carried out.")
    status = 409

    def __init__(self, message=None, *, code: str | None = None):
        self.message = message or self.message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def __str__(self) -> str:
        return str(self.message)

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (a rate limit's Retry-After)."""
        return {}


class Forbidden(DomainError):
    """The user may not do this (HTTP 403)."""

    code = "permission_denied"
    message = _("You do not have permission to perform this action.")
    status = 403


class NotFound(DomainError):
    """Nothing the user may see by that name (HTTP 404): an unknown id and another family's are alike."""

    code = "not_found"
    message = _("Not found.")
    status = 404


class RateLimited(DomainError):
    """Too many attempts in a window (HTTP 429 with Retry-After)."""

    code = "rate_limited"
    message = _("Too many attempts. Try again later.")
    status = 429

    def __init__(self, message=None, *, retry_after: int, code: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, code=code)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(DomainError):
    """A service the request needs is down for now (HTTP 503)."""

    code = "unavailable"
    message = _("The service is temporarily unavailable; try again soon.")
    status = 503
