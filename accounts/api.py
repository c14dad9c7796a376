"""Auth API: a parent asks for an SMS code and exchanges it for a DRF token (issue 4).

Refusals are the services' errors, shaped by `indigo.api` as `{"reason": <code>, "detail": <message in the
request's language>}`. The limits are the database
ones of the SMS login (per phone and per IP); a refused request answers 429 with Retry-After.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from indigo.api import refused
from indigo.http import request_ip, request_user_agent

from .services.otp import OtpInvalidCode, OtpInvalidPhone, otp_request, otp_verify
from .services.sessions import api_token_issue


class OtpRequestSerializer(serializers.Serializer):
    phone = serializers.CharField(
        max_length=32, allow_blank=True, default="", help_text="A Kazakh mobile number, e.g. +77011234567."
    )


class OtpVerifySerializer(OtpRequestSerializer):
    code = serializers.CharField(max_length=12, allow_blank=True, default="", help_text="The 6 digits of the SMS.")


class OtpSentSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A message for people, in the request's language.")
    expires_in = serializers.IntegerField(help_text="Seconds the code stays valid.")


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. A new login replaces it.")
    user = inline_serializer("AuthUser", fields={"id": serializers.IntegerField(), "role": serializers.CharField()})


class OtpBadRequest(OtpInvalidCode, status=400):
    """A verification whose fields do not even parse (400, not 401: no code was checked)."""

    @property
    def headers(self) -> dict[str, str]:
        return {}


class LoginStepView(APIView):
    # A step of the SMS login. No authentication: a login endpoint must not depend on (or demand CSRF for) an
    # existing session. `serializer_class` parses the request's fields (and is the schema's request body).
    authentication_classes = []
    permission_classes = [AllowAny]
    serializer_class = None
    fields_refusal = None  # the DomainError of fields that do not parse

    def fields(self, request) -> dict:
        serializer = self.serializer_class(data=request.data)
        if not serializer.is_valid():
            raise self.fields_refusal()
        return serializer.validated_data


class OtpRequestView(LoginStepView):
    serializer_class = OtpRequestSerializer
    fields_refusal = OtpInvalidPhone

    @extend_schema(
        operation_id="auth_otp_request",
        summary="Send a login code by SMS",
        description="The answer is the same whether or not an account exists for the phone. Limited per phone "
        "and per IP address per hour.",
        responses={
            202: OtpSentSerializer,
            400: refused("invalid_phone"),
            429: refused("rate_limited; see the Retry-After header"),
            503: refused("sms_failed"),
        },
        tags=["auth"],
    )
    def post(self, request):
        otp_request(phone=self.fields(request)["phone"], ip=request_ip(request))
        return Response(
            {"detail": _("The code has been sent by SMS."), "expires_in": settings.OTP_TTL_SECONDS},
            status=status.HTTP_202_ACCEPTED,
        )


class OtpVerifyView(LoginStepView):
    serializer_class = OtpVerifySerializer
    fields_refusal = OtpBadRequest

    @extend_schema(
        operation_id="auth_otp_verify",
        summary="Exchange the SMS code for an API token",
        description="The first login of a phone creates the parent's account. A parent has one session: this "
        "login ends their web sessions and replaces their previous token.",
        responses={
            200: TokenSerializer,
            400: refused("invalid_phone, or invalid_code when the fields do not parse"),
            401: refused("invalid_code, expired or too_many_attempts"),
            403: refused("password_required or login_refused"),
        },
        tags=["auth"],
    )
    def post(self, request):
        fields = self.fields(request)
        ip, user_agent = request_ip(request), request_user_agent(request)
        user = otp_verify(phone=fields["phone"], code=fields["code"], ip=ip, user_agent=user_agent)
        token = api_token_issue(user=user, ip=ip, user_agent=user_agent)
        return Response({"token": token, "user": {"id": user.pk, "role": user.role}})


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        summary="Log out: delete the API token",
        description="Without credentials, or with a token that no longer exists (already logged out), 401.",
        request=None,
        responses={
            204: None,
            401: refused("not_authenticated or authentication_failed (no valid token)"),
        },
        tags=["auth"],
    )
    def post(self, request):
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
