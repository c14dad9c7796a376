"""POST /api/v1/auth/otp/ and /api/v1/auth/otp/verify/: status codes, refusal bodies, tokens, languages."""

import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import LoginRecord, OtpChallenge
from tests.factories import ParentFactory, StaffFactory
from tests.sms import last_code, wrong

pytestmark = pytest.mark.django_db

PHONE = "+77011235678"
OTP_URL = "/api/v1/auth/otp/"
VERIFY_URL = "/api/v1/auth/otp/verify/"


@pytest.fixture
def api():
    return APIClient(REMOTE_ADDR="192.0.2.5", HTTP_USER_AGENT="INDIGO-Android/1.0 okhttp/4.12.0")


def test_request_answers_202_and_sends_the_code(api, outbox):
    response = api.post(OTP_URL, {"phone": "8 701 123 56 78"}, format="json")
    assert response.status_code == 202
    assert response.json()["detail"] and response.json()["expires_in"] == 300
    assert outbox[-1].phone == PHONE


def test_request_answers_the_same_for_an_existing_parent(api, outbox):
    unknown = api.post(OTP_URL, {"phone": PHONE}, format="json")
    ParentFactory(phone="+77010000001")
    known = api.post(OTP_URL, {"phone": "+77010000001"}, format="json")
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize("body", [{"phone": "12345"}, {"phone": ""}, {}])
def test_request_with_a_bad_phone_is_400_invalid_phone(api, outbox, body):
    response = api.post(OTP_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["reason"] == "invalid_phone"
    assert not outbox


def test_request_over_the_limit_is_429_with_retry_after(api, outbox, settings):
    settings.OTP_REQUESTS_PER_PHONE_PER_HOUR = 2
    for _ in range(2):
        assert api.post(OTP_URL, {"phone": PHONE}, format="json").status_code == 202
    response = api.post(OTP_URL, {"phone": PHONE}, format="json")
    assert response.status_code == 429
    assert response.json()["reason"] == "rate_limited"
    assert 3500 <= int(response["Retry-After"]) <= 3600


def test_request_over_the_ip_limit_is_429(api, outbox, settings):
    settings.OTP_REQUESTS_PER_IP_PER_HOUR = 2
    api.post(OTP_URL, {"phone": "+77010000001"}, format="json")
    api.post(OTP_URL, {"phone": "+77010000002"}, format="json")
    assert api.post(OTP_URL, {"phone": "+77010000003"}, format="json").status_code == 429


def test_verify_returns_a_token_that_authenticates(api, outbox):
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": last_code(outbox)}, format="json")

    assert response.status_code == 200
    body = response.json()
    token = Token.objects.get(key=body["token"])
    assert body["user"] == {"id": token.user.pk, "role": "parent"}
    record = LoginRecord.objects.get(user=token.user)
    assert (record.method, record.ip, record.session_key) == ("otp", "192.0.2.5", "")

    api.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api.post("/api/v1/auth/logout/").status_code == 204
    assert not Token.objects.filter(key=body["token"]).exists()
    assert api.post("/api/v1/auth/logout/").status_code == 401


def test_a_new_api_login_replaces_the_previous_token(api, outbox):
    tokens = []
    for _ in range(2):
        api.post(OTP_URL, {"phone": PHONE}, format="json")
        tokens.append(api.post(VERIFY_URL, {"phone": PHONE, "code": last_code(outbox)}, format="json").json()["token"])
    assert tokens[0] != tokens[1]
    assert list(Token.objects.values_list("key", flat=True)) == [tokens[1]]


def test_verify_with_a_wrong_code_is_401_invalid_code(api, outbox):
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": wrong(last_code(outbox))}, format="json")
    assert response.status_code == 401
    assert response.json()["reason"] == "invalid_code" and response.json()["detail"]


def test_verify_after_five_wrong_codes_is_401_too_many_attempts(api, outbox):
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    code = last_code(outbox)
    for _ in range(5):
        api.post(VERIFY_URL, {"phone": PHONE, "code": wrong(code)}, format="json")
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json")
    assert (response.status_code, response.json()["reason"]) == (401, "too_many_attempts")


def test_verify_of_an_expired_code_is_401_expired(api, outbox):
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    OtpChallenge.objects.update(expires_at="2000-01-01T00:00:00Z")
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": last_code(outbox)}, format="json")
    assert (response.status_code, response.json()["reason"]) == (401, "expired")


def test_verify_without_any_code_requested_is_401_expired(api):
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": "123456"}, format="json")
    assert (response.status_code, response.json()["reason"]) == (401, "expired")


def test_verify_with_a_bad_phone_is_400(api):
    response = api.post(VERIFY_URL, {"phone": "abc", "code": "123456"}, format="json")
    assert (response.status_code, response.json()["reason"]) == (400, "invalid_phone")


def test_staff_phone_is_403_password_required(api, outbox):
    StaffFactory(phone=PHONE)
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    response = api.post(VERIFY_URL, {"phone": PHONE, "code": last_code(outbox)}, format="json")
    assert (response.status_code, response.json()["reason"]) == (403, "password_required")


def test_refusals_follow_accept_language(api, outbox):
    api.post(OTP_URL, {"phone": PHONE}, format="json")
    code = wrong(last_code(outbox))
    english = api.post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    kazakh = api.post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json", HTTP_ACCEPT_LANGUAGE="kk")
    russian = api.post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert english.json()["detail"] == "The code is wrong. Check the SMS and try again."
    assert kazakh.json()["detail"] != english.json()["detail"]
    assert russian.json()["detail"] != english.json()["detail"]
    assert re.search("[а-яәғқңөұүһі]", kazakh.json()["detail"], re.IGNORECASE)


def test_schema_describes_the_auth_endpoints(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert {"202", "400", "429"} <= set(schema["paths"][OTP_URL]["post"]["responses"])
    assert {"200", "400", "401", "403"} <= set(schema["paths"][VERIFY_URL]["post"]["responses"])


def test_logout_without_a_valid_token_answers_401_as_the_schema_documents(api, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    logout = schema["paths"]["/api/v1/auth/logout/"]["post"]["responses"]
    assert set(logout) == {"204", "401"}
    documented = logout["401"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][documented]["required"]) == {"reason", "detail"}

    for credentials in ({}, {"HTTP_AUTHORIZATION": "Token " + "0" * 40}):
        api.credentials(**credentials)
        response = api.post("/api/v1/auth/logout/", HTTP_ACCEPT_LANGUAGE="ru")
        assert response.status_code == 401
        body = response.json()
        assert body["reason"] in {"not_authenticated", "authentication_failed"} and body["detail"]
