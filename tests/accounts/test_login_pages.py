"""The SMS login pages (phone, then code), the password page and the logins page: flow, errors, languages."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.models import LoginRecord
from tests.factories import ParentFactory
from tests.i18n import text_of, untranslated_segments
from tests.sms import last_code, wrong

pytestmark = pytest.mark.django_db

PHONE = "+77011235678"
ANDROID = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0 Mobile Safari/537.36"


def interface_in_english(page_html: str, english_html: str) -> list[str]:
    """Untranslated segments, leaving out data shown as is in every language (device names)."""
    return [s for s in untranslated_segments(page_html, english_html) if not s.startswith("Chrome, ")]


# --- The flow ----------------------------------------------------------------------------------------------


def test_parent_logs_in_with_the_code_and_lands_on_the_cabinet(client, outbox):
    response = client.post("/ru/accounts/sms/", {"phone": "8 701 123 56 78"})
    assert response.status_code == 302 and response["Location"] == "/ru/accounts/sms/code/"
    assert "7011235678" not in response["Location"]
    page = client.get("/ru/accounts/sms/code/")
    assert "+7 701 123 56 78" in text_of(page)

    response = client.post("/ru/accounts/sms/code/", {"code": last_code(outbox)})
    assert response.status_code == 302
    assert response["Location"] == "/ru/cabinet/"
    user = get_user_model().objects.get(phone=PHONE)
    assert int(client.session["_auth_user_id"]) == user.pk
    assert "accounts.otp_phone" not in client.session


def test_next_on_this_site_is_followed_and_a_foreign_one_ignored(outbox):
    ParentFactory(phone=PHONE)
    for next_url, expected in (
        ("/ru/registry/?city=temirtau", "/ru/registry/?city=temirtau"),
        ("https://evil.example/", "/ru/cabinet/"),
    ):
        client = Client()
        client.get("/ru/accounts/sms/", {"next": next_url})
        client.post("/ru/accounts/sms/", {"phone": PHONE})
        response = client.post("/ru/accounts/sms/code/", {"code": last_code(outbox)})
        assert response["Location"] == expected
        assert "evil.example" not in response["Location"]


def test_a_bad_phone_is_named_in_the_language_of_the_page(client, outbox):
    response = client.post("/kk/accounts/sms/", {"phone": "123"})
    assert response.status_code == 200
    assert "Телефон нөмірін +7 және 10 цифр түрінде енгізіңіз." in text_of(response)
    assert not outbox


def test_a_wrong_code_shows_a_translated_error_and_keeps_the_step(client, outbox):
    client.post("/ru/accounts/sms/", {"phone": PHONE})
    response = client.post("/ru/accounts/sms/code/", {"code": wrong(last_code(outbox))})
    assert response.status_code == 200
    assert "Неверный код. Проверьте SMS и попробуйте ещё раз." in text_of(response)
    assert "_auth_user_id" not in client.session


def test_a_wrong_code_says_how_many_tries_are_left(client, outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 5
    client.post("/ru/accounts/sms/", {"phone": PHONE})
    bad = wrong(last_code(outbox))
    first = client.post("/ru/accounts/sms/code/", {"code": bad})
    assert "С этим кодом осталось 4 попытки." in text_of(first)
    for _ in range(3):
        last_but_one = client.post("/ru/accounts/sms/code/", {"code": bad})
    assert "С этим кодом осталась 1 попытка." in text_of(last_but_one)
    assert 'name="code"' in last_but_one.content.decode()


def test_after_the_last_wrong_code_a_new_code_is_the_main_action(client, outbox, settings):
    settings.OTP_MAX_ATTEMPTS = 2
    client.post("/kk/accounts/sms/", {"phone": PHONE})
    bad = wrong(last_code(outbox))
    client.post("/kk/accounts/sms/code/", {"code": bad})
    dead = client.post("/kk/accounts/sms/code/", {"code": bad})
    html = dead.content.decode()
    assert 'name="code"' not in html  # no code box to type into any more
    assert '<button type="submit" name="resend" value="1" class="primary">Жаңа код алу</button>' in html
    renewed = client.post("/kk/accounts/sms/code/", {"resend": "1"}, follow=True)
    assert 'name="code"' in renewed.content.decode() and len(outbox) == 2


def test_staff_land_on_their_kindergartens_page_and_admins_in_the_administration(client):
    from tests.factories import AdminFactory, StaffFactory

    staff = StaffFactory(username="staff-101")
    staff.set_password("a-long-password-1")
    staff.save()
    response = client.post("/kk/accounts/login/", {"username": "staff-101", "password": "a-long-password-1"})
    assert response.status_code == 302 and response["Location"] == "/kk/staff/"
    admin = AdminFactory(username="admin-101", is_staff=True)
    admin.set_password("a-long-password-2")
    admin.save()
    other = Client()
    response = other.post("/ru/accounts/login/", {"username": "admin-101", "password": "a-long-password-2"})
    assert response["Location"] == "/ru/admin/"
    asked = Client().post(
        "/ru/accounts/login/?next=/ru/protocol/", {"username": "staff-101", "password": "a-long-password-1"}
    )
    assert asked["Location"] == "/ru/protocol/"


def test_the_code_page_without_a_phone_goes_back_to_the_first_step(client):
    response = client.get("/ru/accounts/sms/code/")
    assert response.status_code == 302 and response["Location"] == "/ru/accounts/sms/"


def test_send_again_issues_a_new_code_within_the_limit_and_refuses_beyond(client, outbox, settings):
    settings.OTP_REQUESTS_PER_PHONE_PER_HOUR = 2
    client.post("/ru/accounts/sms/", {"phone": PHONE})
    response = client.post("/ru/accounts/sms/code/", {"resend": "1"}, follow=True)
    assert len(outbox) == 2
    assert "Новый код отправлен." in text_of(response)

    response = client.post("/ru/accounts/sms/code/", {"resend": "1"})
    assert response.status_code == 429
    assert "Слишком много запросов кода." in text_of(response)
    assert len(outbox) == 2


def test_the_phone_step_over_the_limit_answers_429(client, outbox, settings):
    settings.OTP_REQUESTS_PER_PHONE_PER_HOUR = 1
    client.post("/ru/accounts/sms/", {"phone": PHONE})
    response = client.post("/kk/accounts/sms/", {"phone": PHONE})
    assert response.status_code == 429
    assert "Код тым көп рет сұралды." in text_of(response)


def test_password_page_links_to_the_sms_login_and_back(client):
    login = client.get("/ru/accounts/login/").content.decode()
    assert 'href="/ru/accounts/sms/"' in login
    sms_page = client.get("/ru/accounts/sms/").content.decode()
    assert 'href="/ru/accounts/login/"' in sms_page


def test_inputs_are_labelled_and_fit_phones(client, outbox):
    html = client.get("/ru/accounts/sms/").content.decode()
    assert re.search(r'<label for="id_phone"', html) and 'type="tel"' in html
    client.post("/ru/accounts/sms/", {"phone": PHONE})
    html = client.get("/ru/accounts/sms/code/").content.decode()
    assert re.search(r'<label for="id_code"', html)
    assert 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html


# --- Languages ---------------------------------------------------------------------------------------------


def pages(client, outbox, language: str) -> dict[str, str]:
    """Every page of this area in one language: both steps (with and without an error), password, logins."""
    result = {
        "phone": client.get(f"/{language}/accounts/sms/").content.decode(),
        "phone_error": client.post(f"/{language}/accounts/sms/", {"phone": "12"}).content.decode(),
        "password": client.get(f"/{language}/accounts/login/").content.decode(),
    }
    client.post(f"/{language}/accounts/sms/", {"phone": PHONE})
    result["code"] = client.get(f"/{language}/accounts/sms/code/").content.decode()
    result["code_error"] = client.post(f"/{language}/accounts/sms/code/", {"code": "1"}).content.decode()
    return result


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_login_pages_leave_no_english(outbox, settings, language):
    settings.OTP_REQUESTS_PER_PHONE_PER_HOUR = 10
    english = pages(Client(), outbox, "en")
    translated = pages(Client(), outbox, language)
    for name, html in translated.items():
        assert interface_in_english(html, english[name]) == [], name


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_logins_page_leaves_no_english(language):
    parent = ParentFactory()
    LoginRecord.objects.create(
        user=parent, at=dt.datetime(2024, 6, 3, 5, 0, tzinfo=dt.UTC), method="otp", ip="192.0.2.1", user_agent=ANDROID
    )
    LoginRecord.objects.create(user=parent, method="password", ip=None, user_agent="")
    client = Client()
    client.force_login(parent)
    english = client.get("/en/accounts/logins/").content.decode()
    translated = client.get(f"/{language}/accounts/logins/").content.decode()
    assert "Chrome, Android" in translated
    assert interface_in_english(translated, english) == []
