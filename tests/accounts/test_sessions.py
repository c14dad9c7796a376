"""One active session per parent, login records for every login (SMS and password), recent logins."""

import datetime as dt
import itertools

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import AuditEntry, LoginRecord
from accounts.selectors import device_label, logins_recent
from accounts.services.sessions import login_record
from tests.factories import AdminFactory, ParentFactory, StaffFactory
from tests.sms import last_code

pytestmark = pytest.mark.django_db

PHONE = "+77011235678"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)


def sms_login(client, outbox, phone=PHONE):
    response = client.post(reverse("accounts:otp-login"), {"phone": phone})
    assert response.status_code == 302, response.content.decode()
    response = client.post(reverse("accounts:otp-code"), {"code": last_code(outbox)})
    assert response.status_code == 302, response.content.decode()
    return response


def is_logged_in(client) -> bool:
    return client.get(reverse("accounts:logins")).status_code == 200


def test_a_second_login_ends_the_first_session(outbox):
    ParentFactory(phone=PHONE)
    phone_in_hand = Client(REMOTE_ADDR="10.0.0.1", HTTP_USER_AGENT=ANDROID)
    someone_else = Client(REMOTE_ADDR="10.0.0.2", HTTP_USER_AGENT=IPHONE)

    sms_login(phone_in_hand, outbox)
    assert is_logged_in(phone_in_hand)
    sms_login(someone_else, outbox)

    assert is_logged_in(someone_else)
    assert not is_logged_in(phone_in_hand)
    assert Session.objects.count() == 1


def test_a_parents_web_login_deletes_their_api_token(outbox):
    parent = ParentFactory(phone=PHONE)
    Token.objects.create(user=parent)
    sms_login(Client(), outbox)
    assert not Token.objects.filter(user=parent).exists()


def test_an_api_login_ends_the_parents_web_session(outbox):
    ParentFactory(phone=PHONE)
    browser = Client()
    sms_login(browser, outbox)

    api = Client()
    api.post("/api/v1/auth/otp/", {"phone": PHONE}, content_type="application/json")
    response = api.post(
        "/api/v1/auth/otp/verify/", {"phone": PHONE, "code": last_code(outbox)}, content_type="application/json"
    )
    assert response.status_code == 200
    assert not is_logged_in(browser)


def test_sms_login_is_recorded_with_ip_device_and_session(outbox):
    client = Client(REMOTE_ADDR="192.0.2.10", HTTP_USER_AGENT=ANDROID)
    sms_login(client, outbox)

    record = LoginRecord.objects.get()
    assert record.user.phone == PHONE
    assert record.method == "otp"
    assert record.ip == "192.0.2.10"
    assert record.user_agent == ANDROID[:255]
    assert record.session_key == client.session.session_key
    assert AuditEntry.objects.filter(action="login.otp", actor=record.user).exists()


def test_a_long_user_agent_is_truncated():
    parent = ParentFactory()
    record = login_record(user=parent, method="otp", ip="192.0.2.1", user_agent="x" * 1000)
    assert len(record.user_agent) == 255


def test_staff_password_login_is_recorded_and_keeps_other_sessions():
    staff = StaffFactory(username="nurse")
    first, second = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2", HTTP_USER_AGENT=IPHONE)
    for client in (first, second):
        response = client.post(reverse("accounts:login"), {"username": "nurse", "password": "correct-horse-battery"})
        assert response.status_code == 302

    records = list(LoginRecord.objects.filter(user=staff).order_by("at", "pk"))
    assert [(r.method, r.ip) for r in records] == [("password", "192.0.2.1"), ("password", "192.0.2.2")]
    assert records[1].user_agent == IPHONE
    assert is_logged_in(first) and is_logged_in(second)


def test_admin_site_login_is_recorded_too():
    AdminFactory(username="chief", is_superuser=True)
    client = Client(REMOTE_ADDR="192.0.2.7")
    response = client.post("/ru/admin/login/", {"username": "chief", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert LoginRecord.objects.get().ip == "192.0.2.7"


def test_a_failed_password_login_is_audited_without_the_password():
    StaffFactory(username="nurse")
    response = Client(REMOTE_ADDR="192.0.2.3").post(
        reverse("accounts:login"), {"username": "nurse", "password": "guess-123"}
    )
    assert response.status_code == 200
    entry = AuditEntry.objects.get(action="login.password_failed")
    assert entry.ip == "192.0.2.3" and entry.details["username"] == "nurse"
    assert "guess-123" not in repr(entry.details)
    assert not LoginRecord.objects.exists()


def test_login_refusal_is_asked_at_every_password_login(monkeypatch):
    StaffFactory(username="nurse")
    monkeypatch.setattr("accounts.views.login_refusal", lambda user: "Кабинет заблокирован.")
    response = Client().post(reverse("accounts:login"), {"username": "nurse", "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert "Кабинет заблокирован." in response.content.decode()
    assert not LoginRecord.objects.exists()


def test_a_parents_password_login_also_ends_the_other_sessions(outbox):
    parent = ParentFactory(phone=PHONE, username="aigerim")
    by_sms = Client()
    sms_login(by_sms, outbox)
    Client().post(reverse("accounts:login"), {"username": "aigerim", "password": "correct-horse-battery"})
    assert not is_logged_in(by_sms)
    assert list(parent.logins.order_by("at", "pk").values_list("method", flat=True)) == ["otp", "password"]


def test_recent_logins_are_the_last_twenty_newest_first():
    parent = ParentFactory()
    start = dt.datetime(2024, 6, 3, 5, 0, tzinfo=dt.UTC)
    for n in range(25):
        LoginRecord.objects.create(user=parent, at=start + dt.timedelta(hours=n), method="otp", ip="192.0.2.1")
    LoginRecord.objects.create(user=ParentFactory(), at=start, method="otp")

    logins = logins_recent(user=parent)
    assert len(logins) == 20
    assert logins[0].at == start + dt.timedelta(hours=24)
    assert all(a.at > b.at for a, b in itertools.pairwise(logins))


def test_logins_page_requires_login_and_shows_astana_time_device_and_ip(client):
    assert client.get(reverse("accounts:logins")).status_code == 302
    parent = ParentFactory()
    LoginRecord.objects.create(
        user=parent, at=dt.datetime(2024, 6, 3, 5, 7, tzinfo=dt.UTC), method="otp", ip="192.0.2.44", user_agent=ANDROID
    )
    client.force_login(parent)
    html = client.get(reverse("accounts:logins")).content.decode()
    assert "03.06.2024 10:07" in html  # 05:07 UTC is 10:07 in Astana
    assert "Chrome, Android" in html and "192.0.2.44" in html


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (ANDROID, "Chrome, Android"),
        (IPHONE, "Safari, iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/125.0 YaBrowser/24.4 Safari/537.36",
            "Yandex Browser, Windows",
        ),
        ("Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/125.0 Safari/537.36 Edg/125.0", "Edge, Windows"),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0", "Firefox, Linux"),
        ("okhttp/4.12.0", "okhttp"),
        ("", ""),
    ],
)
def test_device_label_names_browser_and_system(user_agent, label):
    assert device_label(user_agent) == label
