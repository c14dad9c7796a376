"""Staff API: a kindergarten's live places and history; releasing and withdrawing places (DOMAIN.md, Who uses it);
the referrals to the kindergarten and enrolment (DOMAIN.md, Referral, enrolment, contract).

Staff act on their own kindergarten; department admins on any (`?kindergarten=<id>` narrows their lists).
The rules, including who may act on which place, are the services' and `placement.permissions`'; refusals are shaped
by `indigo.api`.
"""

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.models import Child
from indigo.api import INVALID_REQUEST, PAGE_NOT_FOUND, refused
from indigo.http import request_ip

from ..models import Access, Contract, Group, Place, PlaceEvent, Referral
from ..models.referrals import referral_number_normalize
from ..permissions import IsKindergartenStaffOrAdmin, kindergarten_act_require, staff_kindergarten
from ..selectors.kindergartens import (
    kindergarten_contracts,
    kindergarten_events,
    kindergarten_live_places,
    kindergarten_live_referrals,
)
from ..services.idempotency import KEY_MAX_LENGTH, idempotent_answer, request_fingerprint
from ..services.places import MAX_RELEASE, REASON_MAX_LENGTH, place_release, place_withdraw
from ..services.referrals import referral_enrol

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


def reason_field(source: str) -> serializers.CharField:
    """A recorded reason in words: as the staff typed it, or the portal's own (a code) in the request's language."""
    return serializers.CharField(
        source=source,
        read_only=True,
        help_text="As the staff typed it, or the portal's own reason (declined, expired, a block...) in the request's "
        "language.",
    )


class PlaceEventSerializer(serializers.ModelSerializer):
    # The 18:00 run's moves have no author; claim and enrolment events carry no access.
    by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    access = serializers.ChoiceField(choices=Access.choices, allow_blank=True, read_only=True)
    reason = reason_field("reason_label")

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


class ReferralChildSerializer(serializers.ModelSerializer):
    """The child as staff need them to enrol: name and date of birth, never the IIN."""

    class Meta:
        model = Child
        fields = ["last_name", "first_name", "middle_name", "birth_date"]
        read_only_fields = fields


class StaffReferralSerializer(serializers.ModelSerializer):
    place = serializers.IntegerField(source="place_id", read_only=True)
    group = serializers.IntegerField(source="place.group_id", read_only=True)
    kindergarten = serializers.IntegerField(source="kindergarten_id", read_only=True)
    birth_year = serializers.IntegerField(source="place.group.birth_year", read_only=True)
    language = serializers.CharField(source="place.group.language", read_only=True)
    group_type = serializers.CharField(source="place.group.group_type", read_only=True)
    child = ReferralChildSerializer(read_only=True)

    class Meta:
        model = Referral
        fields = [
            "number",
            "status",
            "place",
            "group",
            "kindergarten",
            "birth_year",
            "language",
            "group_type",
            "child",
            "issued_at",
            "valid_until",
        ]
        read_only_fields = fields


class ContractSerializer(serializers.ModelSerializer):
    referral = serializers.CharField(source="referral.number", read_only=True, help_text="The referral's number.")
    kindergarten = serializers.IntegerField(source="kindergarten_id", read_only=True)
    child = ReferralChildSerializer(read_only=True)
    enrolled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    termination_reason = reason_field("termination_reason_label")

    class Meta:
        model = Contract
        fields = [
            "id",
            "referral",
            "kindergarten",
            "child",
            "enrolled_at",
            "enrolled_by",
            "status",
            "terminated_at",
            "termination_reason",
        ]
        read_only_fields = fields


KINDERGARTEN_PARAMETER = OpenApiParameter(
    "kindergarten",
    OpenApiTypes.INT,
    description="Department admins: the kindergarten to list (all when omitted). Staff: only their own.",
)
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string up to 255 characters (a UUID). A retry with the same key and the same body gets the first "
        "answer again and changes nothing; the same key with another body is refused with 422 "
        "(idempotency_key_reused). A refused request keeps no key."
    ),
)
IDEMPOTENCY_REFUSAL = refused("The Idempotency-Key was used for another request (idempotency_key_reused).")
REFUSALS = {
    401: refused("No credentials."),
    403: refused("Not staff (permission_denied), or another kindergarten (not_your_kindergarten)."),
}


def staff_schema(summary: str, *, responses: dict, **schema):
    """`extend_schema` for an operation of the staff API: tagged `staff`, answering its own `responses` and the
    `REFUSALS` of everyone who is not staff of the kindergarten."""
    return extend_schema(tags=["staff"], summary=summary, responses={**responses, **REFUSALS}, **schema)


def staff_write_schema(summary: str, *, request, responses: dict):
    """A write an Idempotency-Key makes safe to retry: 400 for a body that does not parse and 422 for a key reused
    with another body, besides its own `responses`."""
    return staff_schema(
        summary,
        request=request,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={**responses, 400: INVALID_REQUEST, 422: IDEMPOTENCY_REFUSAL},
    )


def staff_list_schema(summary: str):
    """The `get` of a `StaffListView`: a page of its serializer's rows, `?kindergarten=` for department admins."""

    def decorate(view):
        responses = {200: view.serializer_class(many=True), 404: PAGE_NOT_FOUND}
        get = staff_schema(summary, parameters=[KINDERGARTEN_PARAMETER], responses=responses)
        return extend_schema_view(get=get)(view)

    return decorate


# --- Views -----------------------------------------------------------------------------------------------


class StaffApiView(GenericAPIView):
    permission_classes = [IsKindergartenStaffOrAdmin]

    def once(self, *, kindergarten_id: int, answer) -> Response:
        """`answer()` (status, body), once per Idempotency-Key and request when the client sends a key."""
        key = self.request.headers.get("Idempotency-Key")
        if key is None:
            status_code, body = answer()
            return Response(body, status=status_code)
        if not key.strip() or len(key) > KEY_MAX_LENGTH:
            raise ValidationError(
                {"Idempotency-Key": _("Send a key of 1 to %(max)d characters.") % {"max": KEY_MAX_LENGTH}},
                code="invalid_key",
            )
        fingerprint = request_fingerprint(method="POST", path=self.request.path, data=self.request.data)
        status_code, body = idempotent_answer(
            key=key, by=self.request.user, kindergarten_id=kindergarten_id, fingerprint=fingerprint, answer=answer
        )
        return Response(body, status=status_code)

    def scope(self):
        return staff_kindergarten(user=self.request.user, kindergarten_id=self.request.query_params.get("kindergarten"))


class StaffListView(StaffApiView):
    # A page of the `rows` of the staff's kindergarten (the one a department admin names, or all), as the view's
    # serializer shows them now; its schema is `staff_list_schema`'s. (A comment: a docstring here would become the
    # description of every list in the schema.)

    def rows(self, *, kindergarten, at):
        raise NotImplementedError

    def get(self, request):
        at = timezone.now()
        page = self.paginate_queryset(self.rows(kindergarten=self.scope(), at=at))
        return self.get_paginated_response(self.serializer_class(page, many=True, context={"at": at}).data)


@staff_list_schema("Live places of one's kindergarten")
class StaffPlacesView(StaffListView):
    serializer_class = PlaceSerializer

    def rows(self, *, kindergarten, at):
        return kindergarten_live_places(kindergarten=kindergarten, at=at)

    @staff_write_schema(
        "Release free places into a group",
        request=ReleaseRequestSerializer,
        responses={201: PlaceSerializer(many=True)},
    )
    def post(self, request):
        data = ReleaseRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = data.validated_data["group"]
        kindergarten_act_require(request.user, group.kindergarten_id)

        def answer():
            at = timezone.now()
            places = place_release(group=group, count=data.validated_data["count"], by=request.user, at=at)
            return status.HTTP_201_CREATED, PlaceSerializer(places, many=True, context={"at": at}).data

        return self.once(kindergarten_id=group.kindergarten_id, answer=answer)


class StaffPlaceWithdrawView(StaffApiView):
    serializer_class = PlaceSerializer

    @staff_write_schema(
        "Withdraw a free place, with the reason",
        request=WithdrawRequestSerializer,
        responses={
            200: PlaceSerializer,
            404: refused("No such place."),
            409: refused("Taken, enrolled or withdrawn already (not_withdrawable)."),
        },
    )
    def post(self, request, pk: int):
        place = get_object_or_404(Place.objects.select_related("group"), pk=pk)
        # Another kindergarten's staff are refused before their input is even read.
        kindergarten_act_require(request.user, place.kindergarten_id)
        data = WithdrawRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def answer():
            at = timezone.now()
            withdrawn = place_withdraw(place=place, by=request.user, reason=data.validated_data["reason"], at=at)
            return status.HTTP_200_OK, PlaceSerializer(withdrawn, context={"at": at}).data

        return self.once(kindergarten_id=place.kindergarten_id, answer=answer)


@staff_list_schema("The history of one's kindergarten's places, newest first")
class StaffEventsView(StaffListView):
    serializer_class = PlaceEventSerializer

    def rows(self, *, kindergarten, at):
        return kindergarten_events(kindergarten=kindergarten)


@staff_list_schema("Valid referrals to one's kindergarten, the nearest deadline first")
class StaffReferralsView(StaffListView):
    serializer_class = StaffReferralSerializer

    def rows(self, *, kindergarten, at):
        return kindergarten_live_referrals(kindergarten=kindergarten, at=at)


class StaffReferralEnrolView(StaffApiView):
    serializer_class = ContractSerializer

    @staff_schema(
        "Enrol the child who holds a referral (creates the contract)",
        request=None,
        responses={
            201: ContractSerializer,
            404: refused("No referral with this number."),
            409: refused(
                "The referral is no longer valid: expired, declined, cancelled or enrolled already (referral_not_live)."
            ),
        },
    )
    def post(self, request, number: str):
        referral = get_object_or_404(Referral.objects.select_related("child"), number=referral_number_normalize(number))
        # Another kindergarten's staff are refused by the service before it changes anything (403).
        contract = referral_enrol(referral=referral, by=request.user, ip=request_ip(request))
        return Response(ContractSerializer(contract).data, status=status.HTTP_201_CREATED)


@staff_list_schema("Children enrolled in one's kindergarten (active and terminated contracts), newest first")
class StaffContractsView(StaffListView):
    serializer_class = ContractSerializer

    def rows(self, *, kindergarten, at):
        return kindergarten_contracts(kindergarten=kindergarten)
