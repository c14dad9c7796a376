"""Staff API: a kindergarten's live places and history; releasing and withdrawing places (DOMAIN.md, Who uses it).

Staff act on their own kindergarten; department admins on any (`?kindergarten=<id>` narrows their lists).
The rules, including who may act on which place, are the services'; refusals are shaped by `placement.api.errors`.
"""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from ..models import Group, Place, PlaceEvent
from ..services import place_release, place_withdraw
from ..services.places import MAX_RELEASE, REASON_MAX_LENGTH
from ..views.staff import (
    is_department_admin,
    kindergarten_events,
    kindergarten_live_places,
    staff_kindergarten,
)
from .errors import ErrorSerializer


class IsKindergartenStaffOrAdmin(BasePermission):
    message = _("Only kindergarten staff and department admins may do this.")

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool((user.is_kindergarten_staff and user.kindergarten_id) or is_department_admin(user))


# --- Serializers -----------------------------------------------------------------------------------------


class PlaceSerializer(serializers.ModelSerializer):
    kindergarten = serializers.IntegerField(source="kindergarten_id", read_only=True)
    birth_year = serializers.IntegerField(source="group.birth_year", read_only=True)
    language = serializers.CharField(source="group.language", read_only=True)
    group_type = serializers.CharField(source="group.group_type", read_only=True)
    access = serializers.SerializerMethodField(
        help_text="priority, general or scheduled, from the clock; null once taken."
    )

    class Meta:
        model = Place
        fields = [
            "id",
            "group",
            "kindergarten",
            "birth_year",
            "language",
            "group_type",
            "state",
            "access",
            "released_at",
            "entered_priority_at",
            "priority_until",
            "withdrawn_at",
            "withdraw_reason",
        ]
        read_only_fields = fields

    def get_access(self, place: Place) -> str | None:
        return place.access_at(self.context.get("at"))


class ReleaseRequestSerializer(serializers.Serializer):
    group = serializers.PrimaryKeyRelatedField(queryset=Group.objects.select_related("kindergarten__city"))
    count = serializers.IntegerField(min_value=1, max_value=MAX_RELEASE)


class WithdrawRequestSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=REASON_MAX_LENGTH, help_text="Why the place is withdrawn (required).")


class PlaceEventSerializer(serializers.ModelSerializer):
    by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PlaceEvent
        fields = [
            "id",
            "place",
            "kindergarten",
            "kind",
            "at",
            "protocol_day",
            "access",
            "reason",
            "birth_year",
            "language",
            "group_type",
            "by",
        ]
        read_only_fields = fields


KINDERGARTEN_PARAMETER = OpenApiParameter(
    "kindergarten",
    OpenApiTypes.INT,
    description="Department admins: the kindergarten to list (all when omitted). Staff: only their own.",
)
REFUSALS = {
    401: OpenApiResponse(description="No credentials."),
    403: OpenApiResponse(ErrorSerializer, description="Not staff, or another kindergarten (not_your_kindergarten)."),
}


# --- Views -----------------------------------------------------------------------------------------------


class StaffApiView(GenericAPIView):
    permission_classes = [IsKindergartenStaffOrAdmin]

    def scope(self):
        return staff_kindergarten(user=self.request.user, kindergarten_id=self.request.query_params.get("kindergarten"))


class StaffPlacesView(StaffApiView):
    serializer_class = PlaceSerializer

    @extend_schema(
        tags=["staff"],
        summary="Live places of one's kindergarten",
        parameters=[KINDERGARTEN_PARAMETER],
        responses={200: PlaceSerializer(many=True), **REFUSALS},
    )
    def get(self, request):
        at = timezone.now()
        places = self.paginate_queryset(kindergarten_live_places(kindergarten=self.scope(), at=at))
        return self.get_paginated_response(PlaceSerializer(places, many=True, context={"at": at}).data)

    @extend_schema(
        tags=["staff"],
        summary="Release free places into a group",
        request=ReleaseRequestSerializer,
        responses={
            201: PlaceSerializer(many=True),
            400: OpenApiResponse(description="Bad group or count (field errors)."),
            **REFUSALS,
        },
    )
    def post(self, request):
        data = ReleaseRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        at = timezone.now()
        places = place_release(
            group=data.validated_data["group"], count=data.validated_data["count"], by=request.user, at=at
        )
        body = PlaceSerializer(places, many=True, context={"at": at}).data
        return Response(body, status=status.HTTP_201_CREATED)


class StaffPlaceWithdrawView(StaffApiView):
    serializer_class = PlaceSerializer

    @extend_schema(
        tags=["staff"],
        summary="Withdraw a free place, with the reason",
        request=WithdrawRequestSerializer,
        responses={
            200: PlaceSerializer,
            400: OpenApiResponse(description="The reason is missing or too long."),
            404: OpenApiResponse(description="No such place."),
            409: OpenApiResponse(
                ErrorSerializer, description="Taken, enrolled or withdrawn already (not_withdrawable)."
            ),
            **REFUSALS,
        },
    )
    def post(self, request, pk: int):
        place = get_object_or_404(Place.objects.select_related("group"), pk=pk)
        # Another kindergarten's staff are refused before their input is even read.
        staff_kindergarten(user=request.user, kindergarten_id=place.kindergarten_id)
        data = WithdrawRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        at = timezone.now()
        place = place_withdraw(place=place, by=request.user, reason=data.validated_data["reason"], at=at)
        return Response(PlaceSerializer(place, context={"at": at}).data)


class StaffEventsView(StaffApiView):
    serializer_class = PlaceEventSerializer

    @extend_schema(
        tags=["staff"],
        summary="The history of one's kindergarten's places, newest first",
        parameters=[KINDERGARTEN_PARAMETER],
        responses={200: PlaceEventSerializer(many=True), **REFUSALS},
    )
    def get(self, request):
        events = self.paginate_queryset(kindergarten_events(kindergarten=self.scope()))
        return self.get_paginated_response(PlaceEventSerializer(events, many=True).data)
