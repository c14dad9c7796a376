"""Password logins are locked out after repeated failures (accounts.services.lockout): the staff page and the
Django admin's login, per username and per address, counted in the database, audited, never by another's typos."""

import datetime as dt
import json

import pytest
from django.test import Client

from accounts.models import AuditEntry, LoginRecord
from accounts.services.lockout import lockout_find
from tests.clock import astana
from tests.factories import AdminFactory, StaffFactory
from tests.i18n import text_of

pytestmark = pytest.mark.django_db

NOW = astana(2024, 6, 3, 10, 0)
PASSWORD = "correct-horse-battery"  # the factories' password
WRONG = "wrong-horse-battery"
OFFICE = "198.51.100.7"
LOGIN = "/en/accounts/login/"
ADMIN_LOGIN = "/en/admin/login/"
LOCKED = "Too many failed login attempts. Try again after"


def attempt(username: str, password: str, *, ip: str = OFFICE, url: str = LOGIN, client: Client | None = None):
    return (client or Client()).post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


@pytest.fixture
def now():
    return NOW


def test_five_wrong_passwords_lock_the_username_for_fifteen_minutes_even_against_the_right_one(clock):
    staff = StaffFactory(username="staff-001")
    for minute in range(4):
        clock.move_to(NOW + dt.timedelta(minutes=minute))
        response = attempt("staff-001", WRONG)
        assert response.status_code == 200 and LOCKED not in text_of(response)

    clock.move_to(NOW + dt.timedelta(minutes=4))
    response = attempt("staff-001", WRONG)
    assert response.status_code == 429
    assert f"{LOCKED} 10:19." in text_of(response)  # Astana time, 15 minutes after the last failure
    assert response["Retry-After"] == "900"

    clock.move_to(NOW + dt.timedelta(minutes=18, seconds=59))
    response = attempt("staff-001", PASSWORD)
    assert response.status_code == 429 and f"{LOCKED} 10:19." in text_of(response)
    assert response["Retry-After"] == "1"
    assert not LoginRecord.objects.filter(user=staff).exists()

    clock.move_to(NOW + dt.timedelta(minutes=19))
    assert logged_in(attempt("staff-001", PASSWORD))
    assert LoginRecord.objects.filter(user=staff).count() == 1


def test_locked_attempts_neither_check_the_password_nor_extend_the_lock(clock):
    StaffFactory(username="staff-001")
    for _ in range(5):
        attempt("staff-001", WRONG)
    for minute in (1, 5, 14):
        clock.move_to(NOW + dt.timedelta(minutes=minute))
        assert attempt("staff-001", WRONG).status_code == 429
    assert AuditEntry.objects.filter(action="login.password_failed").count() == 5

    clock.move_to(NOW + dt.timedelta(minutes=15))
    assert logged_in(attempt("staff-001", PASSWORD))


def test_the_lockout_is_audited_with_who_what_when_and_where_but_never_the_password(clock):
    StaffFactory(username="staff-001")
    for _ in range(5):
        attempt("staff-001", WRONG)
    credentials = {"username": "staff-001", "password": PASSWORD}
    Client().post(LOGIN, credentials, REMOTE_ADDR=OFFICE, HTTP_USER_AGENT="curl/8")

    entries = list(AuditEntry.objects.order_by("pk").values_list("action", "at", "ip", "details"))
    assert [action for action, *_ in entries] == ["login.password_failed"] * 5 + ["login.locked", "login.locked_out"]
    for _action, at, ip, details in entries[5:]:
        assert (at, ip) == (NOW, OFFICE)
        assert details["username"] == "staff-001" and details["scope"] == "username"
        assert dt.datetime.fromisoformat(details["until"]) == NOW + dt.timedelta(minutes=15)
    assert entries[-1][3]["device"] == "curl/8"
    dumped = json.dumps([details for *_, details in entries])
    assert PASSWORD not in dumped and WRONG not in dumped


def test_a_colleagues_typos_from_the_same_office_do_not_lock_anyone_else(clock):
    StaffFactory(username="staff-001")
    StaffFactory(username="staff-002")
    for _ in range(6):
        attempt("staff-001", WRONG)
    assert attempt("staff-001", PASSWORD).status_code == 429
    assert logged_in(attempt("staff-002", PASSWORD))


def test_one_address_trying_many_usernames_is_locked_and_other_addresses_are_not(clock, settings):
    settings.LOGIN_LOCKOUT_IP_FAILURES = 8
    StaffFactory(username="staff-001")
    for n in range(8):
        attempt(f"guess-{n}", WRONG, ip="203.0.113.9")
    response = attempt("staff-001", PASSWORD, ip="203.0.113.9")
    assert response.status_code == 429 and LOCKED in text_of(response)
    assert AuditEntry.objects.get(action="login.locked_out").details["scope"] == "ip"
    assert logged_in(attempt("staff-001", PASSWORD, ip=OFFICE))


def test_failures_spread_wider_than_the_window_never_lock(clock):
    StaffFactory(username="staff-001")
    for minute in (0, 5, 10, 15, 16):
        clock.move_to(NOW + dt.timedelta(minutes=minute))
        assert attempt("staff-001", WRONG).status_code == 200
    assert logged_in(attempt("staff-001", PASSWORD))


def test_a_successful_login_starts_the_count_afresh(clock):
    StaffFactory(username="staff-001")
    for _ in range(4):
        attempt("staff-001", WRONG)
    clock.shift(dt.timedelta(seconds=30))
    assert logged_in(attempt("staff-001", PASSWORD))
    clock.shift(dt.timedelta(seconds=30))
    for _ in range(4):
        assert attempt("staff-001", WRONG).status_code == 200
    assert logged_in(attempt("staff-001", PASSWORD))


def test_an_unknown_username_is_locked_exactly_like_a_real_one(clock):
    StaffFactory(username="staff-001")
    answers = {}
    for username in ("staff-001", "nobody"):
        for _ in range(5):
            response = attempt(username, WRONG)
        answers[username] = (response.status_code, text_of(response).replace(username, "<name>"))
    assert answers["staff-001"] == answers["nobody"]
    assert answers["nobody"][0] == 429


def test_the_django_admin_login_is_locked_out_too(clock):
    AdminFactory(username="admin")
    for _ in range(4):
        assert attempt("admin", WRONG, url=ADMIN_LOGIN).status_code == 200
    response = attempt("admin", WRONG, url=ADMIN_LOGIN)
    assert response.status_code == 429 and f"{LOCKED} 10:15." in text_of(response)
    response = attempt("admin", PASSWORD, url=ADMIN_LOGIN)
    assert response.status_code == 429 and not LoginRecord.objects.exists()
    # The same lock holds on the staff page: the username is locked, not the page.
    assert attempt("admin", PASSWORD).status_code == 429

    clock.move_to(NOW + dt.timedelta(minutes=15))
    assert logged_in(attempt("admin", PASSWORD, url=ADMIN_LOGIN))


def test_failures_on_the_admin_login_and_the_staff_page_add_up(clock):
    AdminFactory(username="admin")
    for url in (LOGIN, ADMIN_LOGIN, LOGIN, ADMIN_LOGIN):
        attempt("admin", WRONG, url=url)
    assert attempt("admin", WRONG).status_code == 429


def test_the_count_lives_in_the_database_not_the_cache(clock, settings):
    """With no cache at all (Redis down behaves as a miss), the lock still holds."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    StaffFactory(username="staff-001")
    for _ in range(5):
        attempt("staff-001", WRONG)
    assert attempt("staff-001", PASSWORD).status_code == 429
    assert lockout_find(username="staff-001", ip=OFFICE).until == NOW + dt.timedelta(minutes=15)


def test_the_locked_message_is_in_the_language_of_the_page(clock):
    StaffFactory(username="staff-001")
    for _ in range(5):
        attempt("staff-001", WRONG, url="/ru/accounts/login/")
    response = attempt("staff-001", PASSWORD, url="/ru/accounts/login/")
    assert response.status_code == 429
    assert "Слишком много неудачных попыток входа. Попробуйте снова после 10:15." in text_of(response)
    response = attempt("staff-001", PASSWORD, url="/kk/accounts/login/")
    assert "Сәтсіз кіру әрекеттері тым көп. 10:15 кейін қайталап көріңіз." in text_of(response)


def test_a_stranger_typing_a_username_locks_it_only_at_the_strangers_address(clock):
    StaffFactory(username="staff-001")
    for minute in range(5):
        clock.move_to(NOW + dt.timedelta(minutes=minute))
        attempt("staff-001", WRONG, ip="203.0.113.66")
    assert attempt("staff-001", PASSWORD, ip="203.0.113.66").status_code == 429
    assert logged_in(attempt("staff-001", PASSWORD, ip=OFFICE))


def test_guessing_spread_over_many_addresses_locks_the_username_everywhere(clock, settings):
    settings.LOGIN_LOCKOUT_USERNAME_FAILURES = 8
    StaffFactory(username="staff-001")
    for n in range(8):
        clock.move_to(NOW + dt.timedelta(seconds=10 * n))
        attempt("staff-001", WRONG, ip=f"203.0.113.{n + 1}")
    response = attempt("staff-001", PASSWORD, ip=OFFICE)
    assert response.status_code == 429


def test_an_admin_can_end_a_lock_at_once_and_it_is_audited(clock):
    from django.core.management import call_command

    StaffFactory(username="staff-001")
    for _ in range(5):
        attempt("staff-001", WRONG)
    assert attempt("staff-001", PASSWORD).status_code == 429
    clock.move_to(NOW + dt.timedelta(minutes=1))
    call_command("login_unlock", "staff-001")
    assert AuditEntry.objects.filter(action="login.unlocked", details__username="staff-001").count() == 1
    clock.move_to(NOW + dt.timedelta(minutes=2))
    assert logged_in(attempt("staff-001", PASSWORD))
