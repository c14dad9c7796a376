"""The parent's notifications and alerts in the API (issue 14): `/api/v1/me/notifications/` lists every SMS the
portal sent or is sending them, newest first, paginated; `/api/v1/me/applications/<number>/alerts/` reads and
turns on or off the claim-mode alert ("a place my child can take is in general access", at most one SMS per
application a day). Parents only (token or session), like the rest of `/me/`; refusals shaped by `indigo.api`."""

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.models import SMS_LANGUAGES, Notification
from accounts.selectors import notifications_of
from indigo.api import INVALID_REQUEST, PAGE_NOT_FOUND, refused
from indigo.http import request_ip

from ..permissions import IsCabinetHolder
from ..selectors.subscriptions import application_subscribed
from ..services.subscriptions import general_access_subscribe
from .me import MeBaseView
from .schema import NO_SUCH_APPLICATION, me_schema

NUMBER = OpenApiParameter("number", OpenApiTypes.STR, OpenApiParameter.PATH, description="XXXX-XXXX-XXXX")


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Notification.Kind.choices, help_text="What the SMS is about.")
    text = serializers.CharField(help_text="The SMS as sent, in `language`.")
    language = serializers.ChoiceField(choices=SMS_LANGUAGES)
    params = serializers.DictField(
        help_text="The facts in the text (e.g. referral, number, until), as shown in it: times in Astana time."
    )
    status = serializers.ChoiceField(
        choices=Notification.Status.choices,
        help_text="pending (waiting to be sent or retried), sending, sent, failed (not delivered).",
    )
    created_at = serializers.DateTimeField(help_text="When the event happened.")
    sent_at = serializers.DateTimeField(allow_null=True)


class AlertSerializer(serializers.Serializer):
    general_access = serializers.BooleanField(
        help_text="An SMS when a place the child can take moves to general access (at most one a day)."
    )


class MeNotificationsView(GenericAPIView):
    permission_classes = [IsCabinetHolder]
    serializer_class = NotificationSerializer

    @me_schema(
        "me_notifications_list",
        summary="The parent's notifications (SMS), newest first",
        responses={200: NotificationSerializer(many=True), 404: PAGE_NOT_FOUND},
    )
    def get(self, request):
        page = self.paginate_queryset(notifications_of(user=request.user))
        return self.get_paginated_response(NotificationSerializer(page, many=True).data)


class MeApplicationAlertsView(MeBaseView):
    serializer_class = AlertSerializer

    @me_schema(
        "me_applications_alerts_read",
        parameters=[NUMBER],
        responses={200: AlertSerializer, 404: NO_SUCH_APPLICATION},
    )
    def get(self, request, number: str):
        application = self.own_application(number)
        subscribed = application_subscribed(application=application, parent=request.user)
        return Response(AlertSerializer({"general_access": subscribed}).data)

    @me_schema(
        "me_applications_alerts_update",
        parameters=[NUMBER],
        request=AlertSerializer,
        responses={
            200: AlertSerializer,
            400: INVALID_REQUEST,
            404: NO_SUCH_APPLICATION,
            409: refused("reason not_subscribable: only an application in the queue can be subscribed."),
        },
    )
    def put(self, request, number: str):
        application = self.own_application(number)
        data = AlertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        subscribed = general_access_subscribe(
            application=application,
            parent=request.user,
            subscribe=data.validated_data["general_access"],
            ip=request_ip(request),
        )
        return Response(AlertSerializer({"general_access": subscribed}).data)
