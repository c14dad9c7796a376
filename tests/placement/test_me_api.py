"""The parent's own API: /api/v1/me/, children, applications with positions, withdrawal (issue 4)."""

import datetime as dt

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Representation
from placement.models import Application
from tests.clock import astana
from tests.factories import (
    AdminFactory,
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    KindergartenFactory,
    ParentFactory,
    RepresentationFactory,
    StaffFactory,
    serving,
    valid_iin,
)

pytestmark = pytest.mark.django_db

T0 = astana(2024, 3, 1, 9, 0)
ME = "/api/v1/me/"
CHILDREN = "/api/v1/me/children/"
APPLICATIONS = "/api/v1/me/applications/"


def withdraw_url(number: str) -> str:
    return f"/api/v1/me/applications/{number}/withdraw/"


@pytest.fixture
def city():
    return serving(CityFactory(temirtau=True))


@pytest.fixture
def parent():
    return ParentFactory(phone="+77015550101", iin=valid_iin(42, prefix="8501"))


@pytest.fixture
def api(api_as, parent):
    """Token authentication, as a phone app would use it (the token from /api/v1/auth/otp/verify/)."""
    return api_as(parent, language="ru")


def application_body(child, /, **overrides) -> dict:
    return {"child": child.pk, "city": "temirtau", "language": "kk", "group_type": "general", **overrides}


# --- Authentication and roles ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ME), ("get", CHILDREN), ("post", CHILDREN), ("get", APPLICATIONS), ("post", APPLICATIONS)],
)
def test_anonymous_requests_get_401(method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("user_factory", [AdminFactory, lambda: StaffFactory(kindergarten=KindergartenFactory())])
@pytest.mark.parametrize("path", [ME, CHILDREN, APPLICATIONS])
def test_staff_and_admins_get_403(user_factory, path):
    client = APIClient()
    client.force_authenticate(user_factory())
    assert client.get(path).status_code == 403
    assert client.post(path, {}, format="json").status_code == 403


def test_a_bad_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef")
    assert client.get(ME).status_code == 401


def test_session_authentication_works_too(client, parent):
    client.force_login(parent)
    response = client.get(ME)
    assert response.status_code == 200
    assert response.json()["id"] == parent.pk


# --- Me --------------------------------------------------------------------------------------------------


def test_me_gives_the_full_phone_and_a_masked_iin(api, parent):
    data = api.get(ME).json()
    assert data["id"] == parent.pk
    assert data["phone"] == "+77015550101"
    assert data["iin"] == parent.iin[:4] + "******" + parent.iin[-2:]
    assert parent.iin not in api.get(ME).content.decode()


# --- Children --------------------------------------------------------------------------------------------


def test_children_lists_own_representations_only_with_masked_iins(api, parent, child):
    RepresentationFactory(parent=parent, status="rejected", decision_reason="Документ не читается")
    foreign = RepresentationFactory()
    data = api.get(CHILDREN).json()
    assert sorted(item["status"] for item in data) == ["confirmed", "rejected"]
    assert {item["child"]["id"] for item in data} >= {child.pk}
    assert foreign.child_id not in {item["child"]["id"] for item in data}
    assert "Документ не читается" in {item["decision_reason"] for item in data}
    body = api.get(CHILDREN).content.decode()
    assert child.iin not in body and child.iin[:4] + "******" + child.iin[-2:] in body


def test_posting_a_child_creates_a_pending_representation(api, parent):
    body = {
        "iin": valid_iin(900),
        "last_name": "Сапарова",
        "first_name": "Дана",
        "birth_date": "2022-02-14",
        "kind": "guardian",
        "document": "Решение органа опеки № 12",
    }
    response = api.post(CHILDREN, body, format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "pending" and data["kind"] == "guardian"
    assert data["child"]["first_name"] == "Дана" and data["child"]["birth_date"] == "2022-02-14"
    assert Representation.objects.get(pk=data["id"]).parent == parent


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"iin": "123"}, "iin"),
        ({"iin": valid_iin(900)[:11] + str((int(valid_iin(900)[11]) + 1) % 10)}, "iin"),
        ({"birth_date": "2009-01-01"}, "birth_date"),
        ({"birth_date": "not a date"}, "birth_date"),
        ({"kind": "uncle"}, "kind"),
        ({"document": ""}, "document"),
        ({"last_name": "   "}, "last_name"),
    ],
)
def test_bad_child_input_is_400_with_field_errors(api, overrides, field):
    body = {
        "iin": valid_iin(900),
        "last_name": "Сапарова",
        "first_name": "Дана",
        "birth_date": "2022-02-14",
        "kind": "parent",
        "document": "Свидетельство № 1",
        **overrides,
    }
    response = api.post(CHILDREN, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert not Representation.objects.exists()


def test_an_invalid_iin_gets_the_validators_message_in_the_requests_language(parent):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="kk")
    client.force_authenticate(parent)
    iin = valid_iin(900)
    body = {
        "iin": iin[:11] + str((int(iin[11]) + 1) % 10),
        "last_name": "Сапарова",
        "first_name": "Дана",
        "birth_date": "2022-02-14",
        "kind": "parent",
        "document": "Свидетельство № 1",
    }
    response = client.post(CHILDREN, body, format="json")
    message = "Бұл ЖСН жарамсыз: бақылау цифры сәйкес келмейді."
    assert response.json() == {"reason": "invalid", "detail": {"iin": [message]}}


# --- Applications ----------------------------------------------------------------------------------------


def test_posting_an_application_gives_its_number_and_position(api, parent, child, city):
    ApplicationFactory(city=city, child=ChildFactory(birth_date=dt.date(2021, 1, 1)), applied_at=T0)
    response = api.post(APPLICATIONS, application_body(child), format="json")
    assert response.status_code == 201
    data = response.json()
    application = Application.objects.get(child=child)
    assert data["number"] == application.number
    assert data["position"] == 2
    assert (data["city"], data["birth_year"], data["category"], data["status"]) == (
        "temirtau",
        2021,
        "general",
        "queued",
    )


def test_a_claimed_privilege_is_pending_and_ranks_as_general(api, child, city):
    body = application_body(child, privilege="priority", privilege_document="Справка № 3")
    data = api.post(APPLICATIONS, body, format="json").json()
    assert (data["privilege"], data["privilege_status"], data["category"]) == ("priority", "pending", "general")


def test_a_second_application_for_the_same_child_and_city_is_409(api, child, city):
    assert api.post(APPLICATIONS, application_body(child), format="json").status_code == 201
    response = api.post(APPLICATIONS, application_body(child), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "reason": "already_in_queue",
        "detail": "У этого ребёнка уже есть действующее заявление в этом городе.",
    }
    assert Application.objects.filter(child=child).count() == 1


@pytest.mark.parametrize("whose", ["another_parents", "rejected", "unknown"])
def test_a_child_not_theirs_is_403_and_changes_nothing(api, parent, city, whose):
    if whose == "another_parents":
        child = RepresentationFactory().child
    elif whose == "rejected":
        child = RepresentationFactory(parent=parent, status="rejected", decision_reason="Нет").child
    else:
        child = ChildFactory.build(pk=999_999)
    response = api.post(APPLICATIONS, application_body(child), format="json")
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_child"
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"city": "atlantis"}, "city"),
        ({"language": "en"}, "language"),
        ({"group_type": "vip"}, "group_type"),
        ({"privilege": "royal"}, "privilege"),
        ({"privilege": "extraordinary"}, "privilege_document"),
        ({"child": "abc"}, "child"),
    ],
)
def test_bad_application_input_is_400_with_field_errors(api, child, city, overrides, field):
    response = api.post(APPLICATIONS, application_body(child, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["detail"]
    assert not Application.objects.exists()


def test_applications_list_own_ones_with_positions(api, parent, child, city):
    mine = ApplicationFactory(parent=parent, child=child, city=city, applied_at=T0 + dt.timedelta(hours=1))
    ApplicationFactory(city=city, child=ChildFactory(birth_date=dt.date(2021, 1, 1)), applied_at=T0)
    foreign = RepresentationFactory()
    ApplicationFactory(parent=foreign.parent, child=foreign.child, city=city)
    data = api.get(APPLICATIONS).json()
    assert [(item["number"], item["position"]) for item in data] == [(mine.number, 2)]


# --- Withdrawal ------------------------------------------------------------------------------------------


def test_withdrawal_is_200_with_no_position_and_the_others_move_up(api, parent, child, city):
    mine = ApplicationFactory(parent=parent, child=child, city=city, applied_at=T0)
    behind = ApplicationFactory(city=city, child=ChildFactory(), applied_at=T0 + dt.timedelta(hours=1))
    response = api.post(withdraw_url(mine.number))
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["position"]) == ("withdrawn", None)
    public = APIClient().get(reverse("api-queue-lookup", kwargs={"number": behind.number})).json()
    assert public["position"] == 1


def test_withdrawing_twice_is_409(api, application):
    api.post(withdraw_url(application.number))
    response = api.post(withdraw_url(application.number))
    assert response.status_code == 409
    assert response.json()["reason"] == "application_not_withdrawable"


def test_another_familys_application_is_404_and_stays_queued(api, city):
    foreign = RepresentationFactory()
    application = ApplicationFactory(parent=foreign.parent, child=foreign.child, city=city)
    assert api.post(withdraw_url(application.number)).status_code == 404
    application.refresh_from_db()
    assert application.status == "queued"


def test_session_posts_need_the_csrf_token(parent, application):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(parent)
    assert client.post(withdraw_url(application.number)).status_code == 403
    application.refresh_from_db()
    assert application.status == "queued"


def test_the_schema_documents_the_me_and_queue_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/me/",
        "/api/v1/me/children/",
        "/api/v1/me/applications/",
        "/api/v1/me/applications/{number}/withdraw/",
        "/api/v1/queue/{number}/",
    ):
        assert path in schema["paths"]
    assert "position" in schema["components"]["schemas"]["Application"]["properties"]
