"""Offer mode in the parent's own API (issue 14; DOMAIN.md, Allocation modes): an application's ranked choices,
the parent's offers, accepting and declining one, resuming a paused application.

Token or session authentication; parents only (403 for staff and admins, 401 without credentials), like the rest of
`/api/v1/me/`. The same selectors and services as the cabinet pages: another family's application or offer, or an
id that does not exist, is a 404 (`not_found`); an application of a city in claim mode has no choices (404,
`not_offer_mode`); every other refusal is the service's code (`choices_too_many`, `choice_not_served`,
`choice_duplicate`, `offer_not_live`, `offer_expired`, `resume_expired`, `application_not_paused`) in the one error
shape of `indigo.api`.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from indigo.api import INVALID_REQUEST, refused
from indigo.http import request_ip

from ..models import Application, Offer
from ..selectors.offer_pages import (
    application_choices,
    choice_kindergartens,
    parent_offer_application_get,
    parent_offer_get,
    resume_until,
)
from ..selectors.offers import parent_offers
from ..services.choices import choices_set
from ..services.offers import application_resume, offer_accept, offer_decline
from .me import ApplicationSerializer, MeBaseView
from .public import KindergartenRefSerializer
from .schema import me_action_schema, me_schema

NUMBER = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH, description="The application number.")
OFFER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The offer's id.")
NO_SUCH_OFFER_MODE_APPLICATION = refused("No such application among yours; not_offer_mode.")


# --- Choices ---------------------------------------------------------------------------------------------------


class RankedKindergartenSerializer(serializers.Serializer):
    rank = serializers.IntegerField(help_text="1 is the first choice.")
    kindergarten = KindergartenRefSerializer()


class ChoicesSerializer(serializers.Serializer):
    application = serializers.CharField(help_text="The application number.")
    choices = RankedKindergartenSerializer(many=True, help_text="The ranked kindergartens, first choice first.")
    any_other = serializers.BooleanField(help_text="Offer any other matching place when no choice has one.")
    choices_max = serializers.IntegerField(help_text="How many kindergartens the city lets an application name.")
    kindergartens = KindergartenRefSerializer(
        many=True,
        help_text="The kindergartens it may name: the city's, with a group of its cohort, language and group type.",
    )

    @staticmethod
    def of(application: Application) -> dict:
        return {
            "application": application.number,
            "choices": [
                {"rank": choice.rank, "kindergarten": choice.kindergarten}
                for choice in application_choices(application=application)
            ],
            "any_other": application.any_other,
            "choices_max": application.city.choices_max,
            "kindergartens": list(choice_kindergartens(application=application)),
        }


class ChoicesUpdateSerializer(serializers.Serializer):
    kindergartens = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        allow_empty=True,
        help_text="Kindergarten ids, first choice first (at most the city's choices_max).",
    )
    any_other = serializers.BooleanField(default=False)


class MyApplicationChoicesView(MeBaseView):
    """An application's ranked kindergartens (offer mode). PUT replaces the list; it never changes the
    application's time or queue position."""

    serializer_class = ChoicesSerializer

    @me_schema(
        "me_applications_choices",
        parameters=[NUMBER],
        responses={200: ChoicesSerializer, 404: NO_SUCH_OFFER_MODE_APPLICATION},
    )
    def get(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        return self._answer(application)

    @me_schema(
        "me_applications_choices_set",
        parameters=[NUMBER],
        request=ChoicesUpdateSerializer,
        responses={
            200: ChoicesSerializer,
            400: INVALID_REQUEST,
            404: NO_SUCH_OFFER_MODE_APPLICATION,
            409: refused("reason choices_too_many, choice_not_served or choice_duplicate."),
        },
    )
    def put(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        serializer = ChoicesUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        choices_set(
            application=application,
            kindergartens=serializer.validated_data["kindergartens"],
            any_other=serializer.validated_data["any_other"],
            actor=request.user,
            at=timezone.now(),
            ip=request_ip(request),
        )
        application.refresh_from_db()
        return self._answer(application)

    def _answer(self, application):
        return Response(ChoicesSerializer(ChoicesSerializer.of(application)).data)


# --- Offers ----------------------------------------------------------------------------------------------------


class OfferSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    application = serializers.CharField(source="application.number")
    child = serializers.IntegerField(source="application.child_id")
    place = serializers.IntegerField(source="place_id")
    kindergarten = KindergartenRefSerializer()
    birth_year = serializers.IntegerField(source="place.group.birth_year")
    language = serializers.CharField(source="place.group.language")
    group_type = serializers.CharField(source="place.group.group_type")
    rank = serializers.IntegerField(
        allow_null=True, help_text="The kindergarten's rank in the application's choices; null: any other place."
    )
    made_at = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(help_text="Answer by then: 18:00 Astana time of a counted working day.")
    state = serializers.ChoiceField(choices=Offer.State.choices)
    decided_at = serializers.DateTimeField(allow_null=True)
    referral = serializers.SerializerMethodField(help_text="The referral's number once accepted; null otherwise.")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_referral(self, offer) -> str | None:
        return offer.referral.number if offer.referral_id else None


OFFER_NOT_FOUND = refused("No such offer among yours.")


class MyOffersView(MeBaseView):
    """The parent's offers: the live ones first (soonest deadline first; they wait for an answer), then those
    decided in the last 30 days, newest first."""

    serializer_class = OfferSerializer

    @me_schema("me_offers_list", responses={200: OfferSerializer(many=True)})
    def get(self, request):
        return Response(OfferSerializer(parent_offers(parent=request.user, at=timezone.now()), many=True).data)


class OfferAnswerView(MeBaseView):
    """An answer to one of the parent's offers, by the service in `answer`; the offer as it stands after it."""

    serializer_class = OfferSerializer
    answer = None  # the service: offer_accept or offer_decline

    def post(self, request, pk: int):
        offer = parent_offer_get(parent=request.user, offer_id=pk)
        type(self).answer(offer=offer, parent=request.user, at=timezone.now(), ip=request_ip(request))
        return Response(OfferSerializer(parent_offer_get(parent=request.user, offer_id=pk)).data)


def offer_answer_schema(operation_id: str):
    return me_action_schema(
        operation_id, OFFER_ID, not_found=OFFER_NOT_FOUND, conflict="reason offer_not_live or offer_expired."
    )


@offer_answer_schema("me_offers_accept")
class MyOfferAcceptView(OfferAnswerView):
    """Accept a live offer: a referral exactly as a claim gives (5 working days)."""

    answer = staticmethod(offer_accept)


@offer_answer_schema("me_offers_decline")
class MyOfferDeclineView(OfferAnswerView):
    """Decline a live offer: the place goes to the next run, the application stays queued with its time."""

    answer = staticmethod(offer_decline)


class ResumedApplicationSerializer(ApplicationSerializer):
    paused_at = serializers.DateTimeField(allow_null=True, help_text="null: not paused.")
    resume_until = serializers.SerializerMethodField(help_text="Until when the parent may resume it; null: not paused.")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_resume_until(self, application):
        until = resume_until(application)
        return serializers.DateTimeField().to_representation(until) if until else None


@me_action_schema(
    "me_applications_resume",
    NUMBER,
    not_found=NO_SUCH_OFFER_MODE_APPLICATION,
    conflict="reason application_not_paused or resume_expired.",
)
class MyApplicationResumeView(MeBaseView):
    """Resume an application paused by an expired offer: once, within 28 days, with its original time."""

    serializer_class = ResumedApplicationSerializer

    def post(self, request, number: str):
        application = parent_offer_application_get(parent=request.user, number=number)
        application_resume(application=application, parent=request.user, at=timezone.now(), ip=request_ip(request))
        application = parent_offer_application_get(parent=request.user, number=number)
        return Response(ResumedApplicationSerializer(application).data)
