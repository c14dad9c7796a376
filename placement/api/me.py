"""The parent's own API (`/api/v1/me/`): profile, children and representations, applications with queue positions.

Token or session authentication; parents only (403 for staff and admins, 401 without credentials). The same selectors
and services as the cabinet pages; refusals are the services' errors, shaped by `indigo.api`.

Exposure: the parent's own phone numbers are returned in full (they log in with them); IINs, the parent's and the
children's, are masked to the first four and last two digits ("8501******12") so that a leaked token or a shared
screen does not give them away. A parent who needs the full IIN has the document it came from.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.models import Representation
from accounts.services.people import child_register
from accounts.validators import validate_iin
from indigo.api import INVALID_REQUEST, refused
from indigo.http import request_ip

from ..errors import NoSuchApplication, NoSuchReferral, NotYourChild
from ..models import Application, City, GroupType, Referral
from ..permissions import IsCabinetHolder
from ..selectors.parents import (
    parent_application,
    parent_applications,
    parent_child,
    parent_referral,
    parent_referrals,
    parent_representations,
)
from ..selectors.queue import applications_with_positions, queue_position
from ..services.applications import application_create, application_withdraw
from ..services.referrals import referral_decline
from .public import KindergartenRefSerializer
from .queue import CATEGORY_CODES
from .schema import NO_SUCH_APPLICATION, me_action_schema, me_schema


def mask_iin(iin: str | None) -> str | None:
    """8501******12: enough for a parent to tell their children apart, not enough to use elsewhere."""
    if not iin:
        return None
    return iin[:4] + "*" * (len(iin) - 6) + iin[-2:]


# --- Serializers -----------------------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    middle_name = serializers.CharField()
    phone = serializers.CharField(allow_null=True, help_text="The login phone, +7XXXXXXXXXX, in full.")
    phone_2 = serializers.CharField(help_text="The second phone, or an empty string.")
    iin = serializers.SerializerMethodField(help_text='Masked: the first four and last two digits, "8501******12".')

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_iin(self, user) -> str | None:
        return mask_iin(user.iin)


class ChildSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    iin = serializers.SerializerMethodField(help_text='Masked: "2106******34".')
    last_name = serializers.CharField()
    first_name = serializers.CharField()
    middle_name = serializers.CharField()
    birth_date = serializers.DateField()

    @extend_schema_field(serializers.CharField())
    def get_iin(self, child) -> str:
        return mask_iin(child.iin)


class RepresentationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    child = ChildSerializer()
    kind = serializers.ChoiceField(choices=Representation.Kind.choices)
    document = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Representation.Status.choices, help_text="pending until a department admin confirms it."
    )
    decision_reason = serializers.CharField(help_text="The reason of a rejection; empty otherwise.")


class ChildCreateSerializer(serializers.Serializer):
    iin = serializers.CharField(max_length=12, validators=[validate_iin], help_text="The child's IIN, 12 digits.")
    last_name = serializers.CharField(max_length=150)
    first_name = serializers.CharField(max_length=150)
    middle_name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    birth_date = serializers.DateField()
    kind = serializers.ChoiceField(choices=Representation.Kind.choices, help_text="The kind of representation.")
    document = serializers.CharField(max_length=255, help_text="The document's name, number and date.")


class ApplicationSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The public application number, XXXX-XXXX-XXXX.")
    child = serializers.IntegerField(source="child_id")
    city = serializers.CharField(source="city.slug")
    birth_year = serializers.IntegerField(help_text="The cohort (birth year).")
    language = serializers.ChoiceField(choices=Application.Language.choices)
    group_type = serializers.ChoiceField(choices=GroupType.choices)
    privilege = serializers.ChoiceField(choices=Application.Privilege.choices)
    privilege_status = serializers.ChoiceField(choices=Application.PrivilegeStatus.choices)
    privilege_reason = serializers.CharField(help_text="The reason of a rejected privilege; empty otherwise.")
    category = serializers.SerializerMethodField(
        help_text="The category the queue ranks it by: an unconfirmed privilege ranks as general."
    )
    status = serializers.ChoiceField(choices=Application.Status.choices)
    applied_at = serializers.DateTimeField()
    position = serializers.SerializerMethodField(help_text="1-based position in the city and cohort queue.")

    @extend_schema_field(serializers.ChoiceField(choices=list(CATEGORY_CODES.values())))
    def get_category(self, application) -> str:
        return CATEGORY_CODES[application.queue_category]

    @extend_schema_field(serializers.IntegerField(allow_null=True, help_text="null unless queued."))
    def get_position(self, application) -> int | None:
        # A list comes with its positions counted in its own query (applications_with_positions).
        if hasattr(application, "position"):
            return application.position
        return queue_position(application)


class ApplicationCreateSerializer(serializers.Serializer):
    child = serializers.IntegerField(
        min_value=1, help_text="The id of one of your children (GET /api/v1/me/children/)."
    )
    city = serializers.SlugRelatedField(
        slug_field="slug", queryset=City.objects.all(), help_text="The city's slug, e.g. temirtau."
    )
    language = serializers.ChoiceField(choices=Application.Language.choices)
    group_type = serializers.ChoiceField(choices=GroupType.choices, default=GroupType.GENERAL)
    privilege = serializers.ChoiceField(choices=Application.Privilege.choices, default=Application.Privilege.NONE)
    privilege_document = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


# --- Views -----------------------------------------------------------------------------------------------


class MeBaseView(GenericAPIView):
    permission_classes = [IsCabinetHolder]
    pagination_class = None

    def own_application(self, number: str) -> Application:
        """The parent's application with this number; another family's, or none, is a 404."""
        application = parent_application(parent=self.request.user, number=number)
        if application is None:
            raise NoSuchApplication()
        return application


class MeView(MeBaseView):
    serializer_class = MeSerializer

    @me_schema("me", responses={200: MeSerializer})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class MyChildrenView(MeBaseView):
    """The parent's children, each with the representation and its status."""

    serializer_class = RepresentationSerializer

    @me_schema("me_children_list", responses={200: RepresentationSerializer(many=True)})
    def get(self, request):
        representations = parent_representations(parent=request.user)
        return Response(RepresentationSerializer(representations, many=True).data)

    @me_schema(
        "me_children_create",
        request=ChildCreateSerializer,
        responses={201: RepresentationSerializer, 400: INVALID_REQUEST},
    )
    def post(self, request):
        serializer = ChildCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        representation = child_register(parent=request.user, ip=request_ip(request), **serializer.validated_data)
        return Response(RepresentationSerializer(representation).data, status=status.HTTP_201_CREATED)


class MyApplicationsView(MeBaseView):
    """The parent's applications with their queue positions."""

    serializer_class = ApplicationSerializer

    @me_schema("me_applications_list", responses={200: ApplicationSerializer(many=True)})
    def get(self, request):
        applications = applications_with_positions(parent_applications(parent=request.user))
        return Response(ApplicationSerializer(applications, many=True).data)

    @me_schema(
        "me_applications_create",
        request=ApplicationCreateSerializer,
        responses={
            201: ApplicationSerializer,
            400: refused(
                "reason invalid (detail: the messages per field), or cohort_not_served (detail: the message naming "
                "the birth years the city places)."
            ),
            403: refused("Not your child (reason not_your_child)."),
            409: refused("reason already_in_queue."),
        },
    )
    def post(self, request):
        serializer = ApplicationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        child = parent_child(parent=request.user, child_id=data.pop("child"))
        if child is None:
            raise NotYourChild()
        application = application_create(parent=request.user, child=child, ip=request_ip(request), **data)
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


NUMBER = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH)


@me_action_schema(
    "me_applications_withdraw", NUMBER, not_found=NO_SUCH_APPLICATION, conflict="reason application_not_withdrawable."
)
class MyApplicationWithdrawView(MeBaseView):
    serializer_class = ApplicationSerializer

    def post(self, request, number: str):
        application = self.own_application(number)
        application = application_withdraw(application=application, by=request.user, ip=request_ip(request))
        return Response(ApplicationSerializer(application).data)


# --- Referrals -------------------------------------------------------------------------------------------


_TIME = serializers.DateTimeField()  # renders a time as a serializer's DateTimeField does


class ReferralSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="The referral number, R-XXXX-XXXX-XXXX.")
    place = serializers.IntegerField(source="place_id")
    application = serializers.CharField(source="application.number")
    child = serializers.IntegerField(source="child_id")
    kindergarten = KindergartenRefSerializer()
    birth_year = serializers.IntegerField(source="place.group.birth_year")
    language = serializers.CharField(source="place.group.language")
    group_type = serializers.CharField(source="place.group.group_type")
    issued_at = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(help_text="18:00 Astana time of the 5th counted working day.")
    status = serializers.ChoiceField(choices=Referral.Status.choices)
    closed_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, referral) -> dict:
        # The claim storm answers with this body (issue 15): written out it costs a fraction of DRF's walk over the
        # fields, which stay the schema; tests/placement/test_claim_api.py checks that both give the same body.
        group, kindergarten, time = referral.place.group, referral.kindergarten, _TIME.to_representation
        return {
            "number": referral.number,
            "place": referral.place_id,
            "application": referral.application.number,
            "child": referral.child_id,
            "kindergarten": {"id": kindergarten.pk, "code": kindergarten.code, "name": kindergarten.name},
            "birth_year": group.birth_year,
            "language": group.language,
            "group_type": group.group_type,
            "issued_at": time(referral.issued_at),
            "valid_until": time(referral.valid_until),
            "status": referral.status,
            "closed_at": time(referral.closed_at) if referral.closed_at else None,
        }


class MyReferralsView(MeBaseView):
    """The parent's referrals, newest first: the ones they hold and those of children they represent."""

    serializer_class = ReferralSerializer

    @me_schema("me_referrals_list", responses={200: ReferralSerializer(many=True)})
    def get(self, request):
        return Response(ReferralSerializer(parent_referrals(parent=request.user), many=True).data)


@me_action_schema(
    "me_referrals_decline",
    NUMBER,
    not_found=refused("No such referral among yours."),
    conflict="reason referral_not_live.",
    forbidden="not_referral_holder",
)
class MyReferralDeclineView(MeBaseView):
    """Decline a live referral: the place returns to priority access as a new release."""

    serializer_class = ReferralSerializer

    def post(self, request, number: str):
        referral = parent_referral(parent=request.user, number=number)
        if referral is None:
            raise NoSuchReferral()
        referral_decline(referral=referral, by=request.user, ip=request_ip(request))
        return Response(ReferralSerializer(referral).data)
