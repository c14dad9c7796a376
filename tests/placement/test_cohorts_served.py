"""A city serves the cohorts it has groups for, within its age range at the campaign start (issue 12, scenario 4;
DOMAIN.md, Queue): any other application is refused with `cohort_not_served`, naming the cohorts it serves, and
nothing is queued; applications queued before stay, and the admin can list them."""

import datetime as dt

import pytest

from placement.models import Application
from schedules.models import SummerSchedule
from tests.clock import astana, at
from tests.factories import (
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    GroupFactory,
    ParentFactory,
    RepresentationFactory,
    serving,
)

pytestmark = pytest.mark.django_db

APPLIED = astana(2024, 4, 10, 11, 0)


@pytest.fixture
def city():
    return serving(CityFactory(temirtau=True), 2020, 2021)


def child_of(parent, birth_date: dt.date):
    child = ChildFactory(birth_date=birth_date)
    RepresentationFactory(parent=parent, child=child, status="confirmed")
    return child


def apply(api_as, parent, child, city, language="ru"):
    body = {"child": child.pk, "city": city.slug, "language": "ru", "group_type": "general"}
    with at(APPLIED):
        return api_as(parent, language=language).post("/api/v1/me/applications/", body, format="json")


def test_an_application_for_a_cohort_the_city_has_no_group_for_is_refused_naming_the_cohorts_served(
    postgres, city, api_as
):
    parent = ParentFactory()
    child = child_of(parent, dt.date(2015, 4, 1))
    response = apply(api_as, parent, child, city)
    assert response.status_code == 400
    assert response.json()["reason"] == "cohort_not_served"
    assert "2015" in response.json()["detail"] and "2020, 2021" in response.json()["detail"]
    assert not Application.objects.exists()
    kazakh = apply(api_as, parent, child, city, language="kk").json()["detail"]
    assert "2020, 2021" in kazakh and kazakh != response.json()["detail"]


def test_a_child_older_than_the_citys_range_at_the_campaign_start_is_refused(postgres, city, api_as):
    SummerSchedule.objects.create(city=city, year=2024, campaign_start=dt.date(2024, 5, 15))
    city.max_age_years = 3
    city.save()
    parent = ParentFactory()
    too_old = child_of(parent, dt.date(2020, 5, 14))  # 4 years old on 15 May 2024
    assert apply(api_as, parent, too_old, city).json()["reason"] == "cohort_not_served"
    three = child_of(parent, dt.date(2020, 5, 16))  # still 3 on the campaign's first day
    assert apply(api_as, parent, three, city).status_code == 201


def test_a_child_queued_from_birth_is_accepted_when_the_city_has_a_group_of_its_birth_year(postgres, city, api_as):
    parent = ParentFactory()
    newborn = child_of(parent, dt.date(2024, 3, 1))
    refused = apply(api_as, parent, newborn, city).json()
    assert refused["reason"] == "cohort_not_served" and "2020, 2021" in refused["detail"]
    GroupFactory(kindergarten__city=city, birth_year=2024)
    assert apply(api_as, parent, newborn, city).status_code == 201


def test_applications_queued_before_the_rule_stay_and_the_admin_lists_them(postgres, city, client, superuser):
    unserved = ApplicationFactory(city=city, child=ChildFactory(birth_date=dt.date(2015, 2, 2)))
    served = ApplicationFactory(city=city, child=ChildFactory(birth_date=dt.date(2021, 2, 2)))
    response = client.get("/ru/admin/placement/application/", {"cohort_served": "no"})
    assert response.status_code == 200
    listed = list(response.context["cl"].queryset)
    assert listed == [unserved] and served not in listed
    assert Application.objects.get(pk=unserved.pk).status == Application.Status.QUEUED  # it stays in the queue
    GroupFactory(kindergarten__city=city, birth_year=2015)
    assert list(client.get("/ru/admin/placement/application/", {"cohort_served": "no"}).context["cl"].queryset) == []


def test_the_cabinet_form_shows_the_refusal_on_the_form_in_the_parents_language(postgres, city, client):
    parent = ParentFactory()
    child = child_of(parent, dt.date(2015, 4, 1))
    client.force_login(parent)
    body = {"child": child.pk, "city": city.slug, "language": "kk", "group_type": "general", "privilege": "none"}
    with at(APPLIED):
        response = client.post("/kk/cabinet/apply/", body)
    assert response.status_code == 400
    html = response.content.decode()
    assert "2020, 2021" in html and "This city does not place" not in html
    assert not Application.objects.exists()
