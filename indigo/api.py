"""The API's one answer to a refused request: `{"reason": <machine code>, "detail": <for people>}`.

`REST_FRAMEWORK["EXCEPTION_HANDLER"]`. Services raise `indigo.errors.DomainError` (its code, translated message,
status and headers) and Django's `ValidationError`; serializers raise DRF's `ValidationError`; DRF raises its own
refusals (401, 403, 404, 405, 429). All of them leave here in the same shape, and API views never build a refusal
themselves. Validation errors are `{"reason": "invalid", "detail": {field: [messages]}}` (a service's error that
names no field lands under `non_field_errors`, as DRF puts a serializer's).
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from .errors import DomainError

INVALID = "invalid"


class ErrorSerializer(serializers.Serializer):
    """For the schema: the body of every refusal."""

    reason = serializers.CharField(help_text="A machine-readable code, e.g. not_withdrawable, taken, invalid.")
    detail = serializers.JSONField(
        help_text="A message for people in the request's language; for `invalid`, the messages per field."
    )


def refused(description: str) -> OpenApiResponse:
    """A refusal in the schema: the error body and what its reason codes are."""
    return OpenApiResponse(response=ErrorSerializer, description=description)


# Page-number pagination answers 404 for a page beyond the last one (every paginated list documents it).
PAGE_NOT_FOUND = refused("A page number beyond the last page.")
INVALID_REQUEST = refused("reason: invalid; detail: the messages per field.")


def _answer(reason: str, detail, status_code: int, headers: dict[str, str] | None = None) -> Response:
    set_rollback()
    return Response({"reason": reason, "detail": detail}, status=status_code, headers=headers)


def _field_messages(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {field or "non_field_errors": messages for field, messages in exc.message_dict.items()}
    return {"non_field_errors": exc.messages}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return _answer(exc.code, str(exc.message), exc.status, exc.headers)
    if isinstance(exc, DjangoValidationError):
        return _answer(INVALID, _field_messages(exc), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        return _answer(INVALID, detail, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        return _answer("permission_denied", str(exc) or _("You do not have permission to perform this action."), 403)
    if isinstance(exc, Http404):
        return _answer("not_found", str(exc) or _("Not found."), status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.APIException):
        # DRF's own refusals (401, 403, 404, 405, 429, 415...): their default code is the reason.
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        detail = exc.detail if isinstance(exc.detail, list | dict) else str(exc.detail)
        return _answer(exc.default_code, detail, exc.status_code, headers)
    return None
