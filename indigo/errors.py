"""One error model for the whole portal (STYLE.md, "Layers, errors, permissions").

A service that refuses raises a `DomainError`: a machine `code`, a translated `message` for people and the HTTP
`status` it answers with (plus `headers`, e.g. Retry-After). Nobody builds a refusal by hand: the API's one
exception handler (`indigo.api.exception_handler`) turns it into `{"reason": code, "detail": message}`, and pages
turn it into the translated error page in one place (`indigo.pages`), unless a view shows it on its own form.

Each app declares its refusals as subclasses: the class statement names the machine side, the `code` and the
`status` where it differs from the family's (`class OfferNotLive(PlacementError, code="offer_not_live")`), and the
body the `message` people read. A refusal whose message depends on the case passes it to the constructor.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A refused request: `code` for machines, `message` (translated) for people, `status` for HTTP."""

    code = "refused"
    message = _("The request cannot be carried out.")
    status = 409

    def __init_subclass__(cls, *, code: str | None = None, status: int | None = None, **kwargs):
        """A subclass names its code and status as class arguments; what it leaves out it inherits."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status = status

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


class Forbidden(DomainError, code="permission_denied", status=403):
    """The user may not do this (HTTP 403)."""

    message = _("You do not have permission to perform this action.")


class NotFound(DomainError, code="not_found", status=404):
    """Nothing the user may see by that name (HTTP 404): an unknown id and another family's are alike."""

    message = _("Not found.")


class RateLimited(DomainError, code="rate_limited", status=429):
    """Too many attempts in a window (HTTP 429 with Retry-After)."""

    message = _("Too many attempts. Try again later.")

    def __init__(self, message=None, *, retry_after: int, code: str | None = None):
        self.retry_after = retry_after
        super().__init__(message, code=code)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Unavailable(DomainError, code="unavailable", status=503):
    """A service the request needs is down for now (HTTP 503)."""

    message = _("The service is temporarily unavailable; try again soon.")
