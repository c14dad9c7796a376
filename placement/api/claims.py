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
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, OpenApiTypes
from rest_framework import serializers, status
from rest_framework.response import Response

from indigo.api import INVALID_REQUEST, refused
from indigo.http import request_ip

from ..errors import ClaimRefused, NoSuchPlace, NotYourApplication, PlaceGone
from ..models.queue import application_number_normalize
from ..selectors.claims import claim_place
from ..services.claims import UNKNOWN_APPLICATION, claim_attempt_register, place_claim_by_number
from .me import MeBaseView, ReferralSerializer
from .schema import me_schema


class ClaimRequestSerializer(serializers.Serializer):
    application = serializers.CharField(
        max_length=32, help_text="The number of one of your applications, XXXX-XXXX-XXXX."
    )

    def validate_application(self, value: str) -> str:
        # Only the form here; whether it exists is read with the application itself (one query, in the view).
        number = application_number_normalize(value)
        if not number:
            raise serializers.ValidationError(UNKNOWN_APPLICATION)
        return number


REASONS_403 = ", ".join([*ClaimRefused.MESSAGES, NotYourApplication.code])
REASONS_409 = ", ".join(PlaceGone.MESSAGES)


class PlaceClaimView(MeBaseView):
    """Take a free place for one of your applications and get the referral."""

    serializer_class = ReferralSerializer

    @me_schema(
        "place_claim",
        request=ClaimRequestSerializer,
        parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The place id.")],
        responses={
            201: ReferralSerializer,
            200: OpenApiResponse(ReferralSerializer, description="The same claim repeated: the same referral."),
            400: INVALID_REQUEST,
            403: refused(f"reason: {REASONS_403}."),
            404: refused("No such place."),
            409: refused(f"reason: {REASONS_409}."),
            429: refused("reason: rate_limited; Retry-After gives the seconds to wait."),
        },
    )
    def post(self, request, pk: int):
        at = timezone.now()
        ip = request_ip(request)
        claim_attempt_register(by=request.user, at=at, ip=ip)
        place = claim_place(pk)
        if place is None:
            raise NoSuchPlace()
        serializer = ClaimRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        number = serializer.validated_data["application"]
        referral, created = place_claim_by_number(place=place, number=number, by=request.user, at=at, ip=ip)
        return Response(
            ReferralSerializer(referral).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
