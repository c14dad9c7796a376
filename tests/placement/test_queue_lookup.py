"""The public queue lookup by application number: the page and `GET /api/v1/queue/<number>/` (issue 4).

Position, cohort, category and status only: never the child's or the parent's name, IIN or phone.
"""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from placement.models import Application
from placement.services.applications import application_privilege_decide, application_withdraw
from tests.clock import astana
from tests.factories import (
    AdminFactory,
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    ParentFactory,
    RepresentationFactory,
)
from tests.i18n import untranslated_segments, url

pytestmark = pytest.mark.django_db

T0 = astana(2024, 3, 1, 9, 0)


def api_url(number: str) -> str:
    return reverse("api-queue-lookup", kwargs={"number": number})


@pytest.fixture
def city():
    return CityFactory(temirtau=True)


@pytest.fixture
def family():
    parent = ParentFactory(last_name="Жумабекова", first_name="Салтанат", middle_name="Ерлановна", phone="+77015550123")
    child = ChildFactory(last_name="Жумабеков", first_name="Тимур", middle_name="Асланович")
    RepresentationFactory(parent=parent, child=child)
    return parent, child


@pytest.fixture
def queue(city, family):
    """Two general applications ahead in the 2021 cohort, then the family's one with a pending privilege."""
    for hours in (0, 1):
        ApplicationFactory(city=city, child=ChildFactory(), applied_at=T0 + dt.timedelta(hours=hours))
    parent, child = family
    return ApplicationFactory(
        parent=parent,
        child=child,
        city=city,
        applied_at=T0 + dt.timedelta(hours=2),
        privilege="extraordinary",
        privilege_status="pending",
        privilege_document="Справка № 7",
    )


def assert_nothing_personal(body: str, family) -> None:
    parent, child = family
    for value in (
        child.iin,
        child.last_name,
        child.first_name,
        child.middle_name,
        parent.iin,
        parent.last_name,
        parent.first_name,
        parent.middle_name,
        parent.phone,
        parent.phone[2:],
        "Справка",
    ):
        assert value not in body


# --- The page --------------------------------------------------------------------------------------------


def test_page_without_a_number_shows_the_form(client):
    response = client.get(url("queue-lookup"))
    assert response.status_code == 200
    assert 'name="number"' in response.content.decode()


def test_page_shows_position_cohort_category_and_status(client, queue):
    response = client.get(url("queue-lookup"), {"number": queue.number})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<dd class="position"><strong>3</strong></dd>' in html
    assert "Темиртау" in html and "2021" in html and "В очереди" in html
    assert "Общая" in html  # a pending privilege ranks as general
    assert "Льгота ожидает подтверждения" in html


def test_page_shows_no_name_iin_or_phone(client, queue, family):
    body = client.get(url("queue-lookup"), {"number": queue.number}).content.decode()
    assert_nothing_personal(body, family)


@pytest.mark.parametrize("typed", ["lower", "no_dashes", "spaces"])
def test_page_accepts_the_number_in_any_case_and_without_dashes(client, queue, typed):
    number = {
        "lower": queue.number.lower(),
        "no_dashes": queue.number.replace("-", ""),
        "spaces": " " + queue.number.replace("-", " ") + " ",
    }[typed]
    response = client.get(url("queue-lookup"), {"number": number})
    assert response.status_code == 200
    assert queue.number in response.content.decode()


@pytest.mark.parametrize("number", ["0000-0000-0000", "ABC", "'; DROP TABLE--"])
def test_unknown_or_malformed_number_is_a_translated_404(client, queue, number):
    response = client.get(url("queue-lookup"), {"number": number})
    assert response.status_code == 404
    assert "Заявления с таким номером нет." in response.content.decode()


def test_an_empty_number_is_a_400_with_the_fields_translated_error(client, queue):
    """The form asks for a number: an empty one is a bad request (400) shown on the field, not an unknown number."""
    response = client.get(url("queue-lookup"), {"number": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["number"] == ["Обязательное поле."]
    assert "Обязательное поле." in response.content.decode()
    assert "Заявления с таким номером нет." not in response.content.decode()


def test_a_withdrawn_application_shows_its_status_and_no_position(client, queue, family):
    application_withdraw(application=queue, by=family[0])
    html = client.get(url("queue-lookup"), {"number": queue.number}).content.decode()
    assert "Отозвано" in html and "Не в очереди" in html


def test_the_position_changes_the_instant_a_privilege_is_confirmed(client, queue):
    application_privilege_decide(application=queue, by=AdminFactory(), confirm=True)
    html = client.get(url("queue-lookup"), {"number": queue.number}).content.decode()
    assert '<dd class="position"><strong>1</strong></dd>' in html
    assert "Внеочередное право" in html


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_lookup_page_leaves_no_english(client, city, language):
    application = ApplicationFactory(
        city=city, privilege="priority", privilege_status="pending", privilege_document="1"
    )
    Application.objects.filter(pk=application.pk).update(number="1111-2222-3333")
    for query in ({}, {"number": "1111-2222-3333"}, {"number": "9999-9999-9999"}):
        english = client.get(url("queue-lookup", "en"), query).content.decode()
        translated = client.get(url("queue-lookup", language), query).content.decode()
        assert untranslated_segments(translated, english) == []


# --- The API ---------------------------------------------------------------------------------------------


def test_api_gives_number_city_cohort_category_status_and_position(queue):
    response = APIClient().get(api_url(queue.number))
    assert response.status_code == 200
    assert response.json() == {
        "number": queue.number,
        "city": "temirtau",
        "birth_year": 2021,
        "category": "general",
        "status": "queued",
        "position": 3,
    }


def test_api_body_contains_no_name_iin_or_phone(queue, family):
    body = APIClient().get(api_url(queue.number)).content.decode()
    assert_nothing_personal(body, family)


def test_api_is_tolerant_of_case_and_missing_dashes(queue):
    response = APIClient().get(api_url(queue.number.replace("-", "").lower()))
    assert response.status_code == 200
    assert response.json()["number"] == queue.number


@pytest.mark.parametrize("number", ["0000-0000-0000", "nothing", "1"])
def test_api_unknown_number_is_404(queue, number):
    response = APIClient(HTTP_ACCEPT_LANGUAGE="kk").get(api_url(number))
    assert response.status_code == 404
    assert response.json() == {"reason": "not_found", "detail": "Мұндай нөмірлі өтініш жоқ."}


def test_api_withdrawn_application_has_no_position(queue, family):
    application_withdraw(application=queue, by=family[0])
    data = APIClient().get(api_url(queue.number)).json()
    assert (data["status"], data["position"]) == ("withdrawn", None)


def test_api_confirmed_extraordinary_right_goes_first(queue):
    application_privilege_decide(application=queue, by=AdminFactory(), confirm=True)
    data = APIClient().get(api_url(queue.number)).json()
    assert (data["category"], data["position"]) == ("extraordinary", 1)


def test_api_ignores_credentials_and_needs_no_login(queue):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(api_url(queue.number)).status_code == 200
