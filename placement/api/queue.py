"""Public API: an application's queue position by its number (DOMAIN.md, Queue: no name, no IIN, no phone)."""

from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from indigo.api import refused
from indigo.errors import NotFound

from ..models import Application
from ..selectors.queue import public_application, queue_position

CATEGORY_CODES = {
    Application.Category.EXTRAORDINARY: "extraordinary",
    Application.Category.PRIORITY: "priority",
    Application.Category.GENERAL: "general",
}


class PublicQueueEntrySerializer(serializers.Serializer):
    """Everything the public may know of an application; nothing that names the child or the family."""

    number = serializers.CharField(help_text="The application number, XXXX-XXXX-XXXX.")
    city = serializers.CharField(source="city.slug", help_text="The city's slug.")
    birth_year = serializers.IntegerField(help_text="The cohort (birth year).")
    category = serializers.SerializerMethodField(
        help_text="The category the queue ranks it by: an unconfirmed privilege ranks as general."
    )
    status = serializers.ChoiceField(choices=Application.Status.choices)
    position = serializers.SerializerMethodField()

    @staticmethod
    def get_category(application) -> str:
        return CATEGORY_CODES[application.queue_category]

    def get_position(self, application) -> int | None:
        return queue_position(application)


class QueueLookupView(GenericAPIView):
    """An application's position in its city and cohort queue (null unless it is queued)."""

    serializer_class = PublicQueueEntrySerializer
    pagination_class = None
    authentication_classes = []

    @extend_schema(
        operation_id="queue_lookup",
        tags=["queue"],
        parameters=[
            OpenApiParameter(
                "number",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="Application number; any case, dashes optional.",
            )
        ],
        responses={
            200: PublicQueueEntrySerializer,
            404: refused("No application with this number."),
        },
    )
    def get(self, request, number: str):
        application = public_application(number)
        if application is None:
            raise NotFound(gettext("No application with this number."))
        return Response(PublicQueueEntrySerializer(application).data)
