"""Claiming a place through the API: `POST /api/v1/places/<id>/claim/` with `application` (DOMAIN.md, Places and
their access 3-4; Referral, enrolment, contract).

201 with the referral; the same claim repeated (a retry after a timeout) → 200 with the same referral; 409
`{"reason": "taken" | "withdrawn" | "not_open", "detail"}` when the place is gone; 403 `{"reason", "detail"}` when
this parent may not take it (the ClaimRefused codes, or `not_your_application`); 429 `rate_limited` with
`Retry-After` past the parent's claim attempts per minute; 400 for a missing or unknown application number; 404
for an unknown place; 401 without credentials.

The storm's hot path (docs/PERFORMANCE.md): the token with its user, the place, the application (one query each)
and the locked transaction; the referral answered is the one the transaction created.
"""

from django.utils import timezone
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from accounts.services.sessions import request_ip

from ..selectors_claims import claim_application, claim_place
from ..services.claims import (
    GONE,
    REFUSALS,
    ClaimRateLimited,
    ClaimRefused,
    PlaceGone,
    claim_attempt_register,
    place_claim,
)
from ..views.cabinet import normalize_application_number
from .me import UNAUTHORISED, MeBaseView, ReferralSerializer, RefusalSerializer, refusal


class ClaimRequestSerializer(serializers.Serializer):
    application = serializers.CharField(
        max_length=32, help_text="The number of one of your applications, XXXX-XXXX-XXXX."
    )

    def validate_application(self, value: str) -> str:
        # Only the form here; whether it exists is read with the application itself (one query, in the view).
        number = normalize_application_number(value)
        if not number:
            raise unknown_application()
        return number


def unknown_application() -> serializers.ValidationError:
    return serializers.ValidationError(gettext("There is no application with this number."))


REASONS_403 = ", ".join([*REFUSALS, "not_your_application"])
REASONS_409 = ", ".join(GONE)


class PlaceClaimView(MeBaseView):
    """Take a free place for one of your applications and get the referral."""

    serializer_class = ReferralSerializer

    @extend_schema(
        operation_id="place_claim",
        tags=["me"],
        request=ClaimRequestSerializer,
        parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The place id.")],
        responses={
            201: ReferralSerializer,
            200: OpenApiResponse(ReferralSerializer, description="The same claim repeated: the same referral."),
            400: OpenApiResponse(description="Missing or unknown application number."),
            403: OpenApiResponse(RefusalSerializer, description=f"reason: {REASONS_403}."),
            404: OpenApiResponse(description="No such place."),
            409: OpenApiResponse(RefusalSerializer, description=f"reason: {REASONS_409}."),
            429: OpenApiResponse(
                RefusalSerializer, description="reason: rate_limited; Retry-After gives the seconds to wait."
            ),
            401: UNAUTHORISED[401],
        },
    )
    def post(self, request, pk: int):
        at = timezone.now()
        ip = request_ip(request)
        try:
            claim_attempt_register(by=request.user, at=at, ip=ip)
        except ClaimRateLimited as exc:
            response = refusal(exc.code, str(exc), exc.status)
            response["Retry-After"] = str(exc.retry_after)
            return response
        place = claim_place(pk)
        if place is None:
            raise NotFound(gettext("There is no such place."))
        serializer = ClaimRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        found = claim_application(parent=request.user, number=serializer.validated_data["application"], at=at)
        if not found.exists:
            raise serializers.ValidationError({"application": [unknown_application().detail[0]]})
        if found.application is None:
            return refusal(
                "not_your_application", gettext("No such application among yours."), status.HTTP_403_FORBIDDEN
            )
        try:
            referral, created = place_claim(place=place, application=found.application, by=request.user, at=at, ip=ip)
        except (PlaceGone, ClaimRefused) as exc:
            return refusal(exc.code, str(exc), exc.status)
        return Response(
            ReferralSerializer(referral).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
