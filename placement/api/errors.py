"""The API's answer to a refused request: `{"reason": <machine code>, "detail": <translated message>}`.

Set as `REST_FRAMEWORK["EXCEPTION_HANDLER"] = "placement.api.errors.exception_handler"`. Services raise
`PlacementError` subclasses, Django's `ValidationError` and `PermissionDenied`; DRF's own exceptions (401, field
errors of serializers, 404) keep DRF's shape.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..services.errors import NotYourKindergarten, PlacementError, PlaceNotWithdrawable

STATUS_BY_ERROR_CODE = {
    PlaceNotWithdrawable.code: status.HTTP_409_CONFLICT,
    NotYourKindergarten.code: status.HTTP_403_FORBIDDEN,
}


class ErrorSerializer(serializers.Serializer):
    """For the schema: the body of a refusal."""

    reason = serializers.CharField(help_text="A machine-readable code, e.g. not_withdrawable, not_your_kindergarten.")
    detail = serializers.JSONField(help_text="A message for people, in the request's language.")


# Page-number pagination answers 404 for a page beyond the last one (every paginated list documents it).
PAGE_NOT_FOUND = OpenApiResponse(response=ErrorSerializer, description="A page number beyond the last page.")


def _refusal(reason: str, detail, status_code: int) -> Response:
    set_rollback()
    return Response({"reason": reason, "detail": detail}, status=status_code)


def placement_error_status(exc: PlacementError) -> int:
    """The exception's own `status` when its class declares one (ClaimRefused 403, PlaceGone 409), else by code;
    409 for any other refusal (the request conflicts with the current state, e.g. referral_not_live)."""
    own = getattr(exc, "status", None)
    if isinstance(own, int):
        return own
    return STATUS_BY_ERROR_CODE.get(exc.code, status.HTTP_409_CONFLICT)


def exception_handler(exc, context):
    if isinstance(exc, PlacementError):
        return _refusal(exc.code, str(exc.message), placement_error_status(exc))
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else " ".join(exc.messages)
        code = getattr(exc, "code", None) or "invalid"
        return _refusal(code, detail, status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        detail = str(exc) or _("You do not have permission to perform this action.")
        return _refusal("permission_denied", detail, status.HTTP_403_FORBIDDEN)
    response = drf_exception_handler(exc, context)
    # DRF's own refusals (401, 403, 404, 405, 429...) get the same shape: their default code as the reason.
    if (
        response is not None
        and isinstance(exc, exceptions.APIException)
        and isinstance(response.data, dict)
        and set(response.data) == {"detail"}
    ):
        response.data["reason"] = exc.default_code
    return response
