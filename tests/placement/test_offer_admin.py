"""Offer mode in the admin (issue 14): a city's allocation mode and settings, the offers read-only with filters by
city, state and day, an application's ranked kindergartens, and a department admin resuming a paused application
past the parent's 28 days."""

import datetime as dt

import pytest

from accounts.models import AuditEntry
from placement.models import Application, Offer
from placement.services.daily import run_daily
from tests.clock import at
from tests.factories import AdminFactory, CityFactory, ParentFactory
from tests.placement.offers import AFTER_DEADLINE, offer_made

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.placement.offers"]

OFFERS = "/ru/admin/placement/offer/"


@pytest.fixture
def offer(chooser, kindergartens) -> Offer:
    return offer_made(chooser[1], kindergartens[0])


@pytest.fixture
def department_client(client):
    client.force_login(AdminFactory(username="9101"))
    return client


def test_the_city_form_sets_the_allocation_mode_and_its_settings(client, superuser, offer_city):
    page = client.get(f"/ru/admin/placement/city/{offer_city.pk}/change/").content.decode()
    for field in ("allocation_mode", "choices_max", "offer_working_days"):
        assert f'name="{field}"' in page
    claim_city = CityFactory(name="Claim-mode city")
    listed = client.get("/ru/admin/placement/city/?allocation_mode__exact=offer").content.decode()
    assert offer_city.name in listed and claim_city.name not in listed


def test_offers_are_listed_read_only_and_filtered_by_city_state_and_day(department_client, offer):
    city = offer.application.city
    listed = department_client.get(OFFERS).content.decode()
    place = f">#{offer.place_id}<"
    assert place in listed and offer.application.number in listed
    for query in (f"kindergarten__city__id__exact={city.pk}", "state__exact=live", "protocol_day=2024-05-02"):
        assert place in department_client.get(f"{OFFERS}?{query}").content.decode(), query
    assert place not in department_client.get(f"{OFFERS}?state__exact=accepted").content.decode()
    change = department_client.get(f"{OFFERS}{offer.pk}/change/")
    assert change.status_code == 200 and 'name="state"' not in change.content.decode()  # nothing to edit
    assert department_client.post(f"{OFFERS}{offer.pk}/delete/").status_code == 403
    assert department_client.get(f"{OFFERS}add/").status_code == 403


def test_a_parent_cannot_open_the_offers_admin(client, offer):
    client.force_login(ParentFactory())
    assert client.get(OFFERS).status_code == 302  # to the admin's login


def test_the_application_page_shows_its_ranked_kindergartens(department_client, offer):
    page = department_client.get(f"/ru/admin/placement/application/{offer.application_id}/change/").content.decode()
    assert "Выбранные детские сады (режим предложений)" in page
    assert offer.kindergarten.name_ru in page


def test_a_department_admin_resumes_a_paused_application_past_the_parents_28_days(department_client, offer):
    run_daily(at=AFTER_DEADLINE.replace(hour=18), city=offer.application.city)  # expired: paused
    application = Application.objects.get(pk=offer.application_id)
    assert application.paused_at is not None
    with at(application.paused_at + dt.timedelta(days=40)):
        response = department_client.post(
            "/ru/admin/placement/application/",
            {"action": "resume_paused", "index": "0", "_selected_action": [application.pk]},
        )
    assert response.status_code == 302
    assert Application.objects.get(pk=application.pk).paused_at is None
    assert AuditEntry.objects.filter(action="application.resume").exists()
