"""Offer mode in the parent's API (issue 14, Done when: API endpoints with the schema): an application's choices
(GET, PUT), the parent's offers, accept, decline, resume; refusals in the one error shape with the services' reason
codes; another family's offer or application is a 404."""

import pytest

from placement import registry_cache
from placement.models import Application, ApplicationChoice, Offer, Place, Referral
from placement.selectors import registry as registry_selectors
from placement.services.daily import run_daily
from tests.clock import at
from tests.factories import CityFactory, ParentFactory, applicant
from tests.placement.offers import AFTER_DEADLINE, ANSWERING, RELEASED, offer_made

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.placement.offers"]


def choices_url(number: str) -> str:
    return f"/api/v1/me/applications/{number}/choices/"


def resume_url(number: str) -> str:
    return f"/api/v1/me/applications/{number}/resume/"


OFFERS = "/api/v1/me/offers/"


def accept_url(offer) -> str:
    return f"/api/v1/me/offers/{offer.pk}/accept/"


def decline_url(offer) -> str:
    return f"/api/v1/me/offers/{offer.pk}/decline/"


@pytest.fixture
def offer(chooser, kindergartens) -> Offer:
    return offer_made(chooser[1], kindergartens[0])


# --- Choices ---------------------------------------------------------------------------------------------------


def test_get_choices_lists_the_ranked_kindergartens_and_those_the_application_may_name(api_as, chooser, kindergartens):
    parent, application = chooser
    first, second, _russian = kindergartens
    with at(RELEASED):
        body = api_as(parent).get(choices_url(application.number)).json()
    assert body["application"] == application.number and body["choices"] == [] and body["any_other"] is False
    assert body["choices_max"] == 3
    assert [k["id"] for k in body["kindergartens"]] == [first.pk, second.pk]  # not the Russian-only one


def test_put_choices_replaces_the_list_in_rank_order_and_keeps_the_applications_time(api_as, chooser, kindergartens):
    parent, application = chooser
    first, second, _russian = kindergartens
    api = api_as(parent)
    with at(RELEASED):
        api.put(choices_url(application.number), {"kindergartens": [first.pk], "any_other": False}, format="json")
        response = api.put(
            choices_url(application.number), {"kindergartens": [second.pk, first.pk], "any_other": True}, format="json"
        )
    assert response.status_code == 200
    assert [(c["rank"], c["kindergarten"]["id"]) for c in response.json()["choices"]] == [(1, second.pk), (2, first.pk)]
    assert response.json()["any_other"] is True
    assert Application.objects.get(pk=application.pk).applied_at == application.applied_at
    assert ApplicationChoice.objects.filter(application=application).count() == 2


@pytest.mark.parametrize(
    ("which", "reason", "status"),
    [
        ("too_many", "choices_too_many", 400),
        ("duplicate", "choice_duplicate", 400),
        ("not_served", "choice_not_served", 400),
        ("unknown", "choice_not_served", 400),
    ],
)
def test_refused_choices_answer_with_the_services_reason_and_change_nothing(
    api_as, chooser, kindergartens, which, reason, status
):
    parent, application = chooser
    first, second, russian = kindergartens
    ids = {
        "too_many": [first.pk, second.pk, first.pk + 1000, first.pk + 1001],
        "duplicate": [first.pk, first.pk],
        "not_served": [russian.pk],
        "unknown": [first.pk + 1000],
    }[which]
    with at(RELEASED):
        response = api_as(parent, language="kk").put(
            choices_url(application.number), {"kindergartens": ids}, format="json"
        )
    assert response.status_code == status
    assert response.json()["reason"] == reason and response.json()["detail"]
    assert not ApplicationChoice.objects.filter(application=application).exists()


def test_choices_of_a_claim_mode_city_or_another_family_are_404(api_as, chooser, kindergartens):
    claim_parent, claim_application = applicant(CityFactory(), 0)
    assert api_as(claim_parent).get(choices_url(claim_application.number)).json()["reason"] == "not_offer_mode"
    _parent, application = chooser
    stranger = api_as(ParentFactory())
    assert stranger.get(choices_url(application.number)).status_code == 404
    put = stranger.put(choices_url(application.number), {"kindergartens": [kindergartens[0].pk]}, format="json")
    assert put.status_code == 404
    assert not ApplicationChoice.objects.filter(application=application).exists()


def test_offer_endpoints_are_for_parents_only(api_as, offer, staff):
    assert api_as().get(OFFERS).status_code == 401
    assert api_as(staff).get(OFFERS).status_code == 403
    assert api_as(staff).post(accept_url(offer)).status_code == 403


# --- Offers ----------------------------------------------------------------------------------------------------


def test_the_parents_offers_list_the_live_offer_with_its_deadline_and_rank(api_as, offer):
    with at(ANSWERING):
        [body] = api_as(offer.parent).get(OFFERS).json()
    assert body["id"] == offer.pk and body["state"] == "live" and body["rank"] == 1
    assert body["kindergarten"]["id"] == offer.kindergarten_id and body["place"] == offer.place_id
    assert body["valid_until"] == "2024-05-04T18:00:00+05:00" and body["referral"] is None


def test_accepting_by_the_api_gives_the_referral_and_a_second_accept_is_refused_offer_not_live(api_as, offer):
    api = api_as(offer.parent)
    with at(ANSWERING):
        response = api.post(accept_url(offer))
        again = api.post(accept_url(offer))
    referral = Referral.objects.get(application=offer.application)
    assert response.status_code == 200
    assert response.json()["state"] == "accepted" and response.json()["referral"] == referral.number
    assert again.status_code == 409 and again.json()["reason"] == "offer_not_live"
    assert Referral.objects.count() == 1


def test_declining_by_the_api_keeps_the_child_queued_and_returns_the_place(api_as, offer):
    with at(ANSWERING):
        response = api_as(offer.parent).post(decline_url(offer))
    assert response.status_code == 200 and response.json()["state"] == "declined"
    assert Application.objects.get(pk=offer.application_id).status == Application.Status.QUEUED
    assert Place.objects.get(pk=offer.place_id).state == Place.State.PRIORITY


def test_an_expired_offer_is_refused_offer_expired(api_as, offer):
    with at(AFTER_DEADLINE):
        response = api_as(offer.parent).post(accept_url(offer))
    assert response.status_code == 409 and response.json()["reason"] == "offer_expired"


def test_another_parents_offer_or_a_forged_id_is_404_and_changes_nothing(api_as, offer):
    stranger = api_as(ParentFactory())
    with at(ANSWERING):
        assert stranger.post(accept_url(offer)).status_code == 404
        assert stranger.post(decline_url(offer)).json()["reason"] == "not_your_offer"
        assert api_as(offer.parent).post(f"/api/v1/me/offers/{offer.pk + 1000}/accept/").status_code == 404
        assert stranger.get(OFFERS).json() == []
    assert Offer.objects.get(pk=offer.pk).state == Offer.State.LIVE


# --- Resume ----------------------------------------------------------------------------------------------------


def test_a_paused_application_resumes_once_by_the_api(api_as, offer):
    run_daily(at=AFTER_DEADLINE.replace(hour=18), city=offer.application.city)
    application = Application.objects.get(pk=offer.application_id)
    api = api_as(offer.parent)
    with at(AFTER_DEADLINE.replace(hour=19)):
        response = api.post(resume_url(application.number))
        again = api.post(resume_url(application.number))
    assert response.status_code == 200 and response.json()["paused_at"] is None
    assert again.status_code == 409 and again.json()["reason"] == "application_not_paused"


def test_the_schema_documents_every_offer_mode_endpoint(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"get", "put"} <= set(paths["/api/v1/me/applications/{number}/choices/"])
    assert "post" in paths["/api/v1/me/applications/{number}/resume/"]
    assert "get" in paths["/api/v1/me/offers/"]
    assert "post" in paths["/api/v1/me/offers/{id}/accept/"] and "post" in paths["/api/v1/me/offers/{id}/decline/"]


# --- The public registry API (issue 14 follow-up): offered places as the page shows them ---------------------------

SUMMARY = "/api/v1/registry/summary/"


def test_the_public_registry_summary_counts_offered_places_per_group_without_personal_data(
    client, api_as, offer, django_capture_on_commit_callbacks
):
    application = offer.application
    group = offer.place.group
    with at(ANSWERING):
        response = client.get(SUMMARY, {"city": application.city.slug}, HTTP_ACCEPT_LANGUAGE="kk")
        places = client.get("/api/v1/registry/", {"city": application.city.slug}).json()
    assert response.status_code == 200
    summary = response.json()
    assert (summary["total"], summary["offered"]) == (0, 1)  # held, not free: not among the open places
    assert summary["offered_groups"] == [
        {
            "state": "offered",
            "kindergarten": {"id": offer.kindergarten_id, "code": "201", "name": offer.kindergarten.name_kk},
            "group": group.pk,
            "birth_year": 2021,
            "language": "kk",
            "group_type": group.group_type,
            "count": 1,
        }
    ]
    assert places["count"] == 0
    body = response.content.decode()
    for personal in (application.number, application.child.first_name, application.child.last_name):
        assert personal not in body
    assert "valid_until" not in body and "parent" not in body

    # Filters apply as on the page: another kindergarten, or general access, shows none.
    with at(ANSWERING):
        other = client.get(SUMMARY, {"city": application.city.slug, "kindergarten": offer.kindergarten_id + 1})
        general = client.get(SUMMARY, {"city": application.city.slug, "access": "general"})
    assert (other.json()["offered"], other.json()["offered_groups"]) == (0, [])
    assert general.json()["offered"] == 0

    # A declined offer's place is free again at once, though the summary was cached.
    with at(ANSWERING), django_capture_on_commit_callbacks(execute=True):
        assert api_as(application.parent).post(decline_url(offer)).status_code in (200, 204)
    with at(ANSWERING):
        again = client.get(SUMMARY, {"city": application.city.slug}).json()
    assert (again["total"], again["offered"], again["offered_groups"]) == (1, 0, [])


def test_a_summary_cached_in_the_previous_format_is_never_served(client, offer, monkeypatch, django_assert_num_queries):
    # The summary's shape changed (offered, offered_groups): FORMAT changed with it, so that an entry a previous
    # release cached (without them) is computed again rather than read.
    query = {"city": offer.application.city.slug}
    with at(ANSWERING):
        monkeypatch.setattr(registry_cache, "FORMAT", registry_cache.FORMAT - 1)
        # What a previous release cached: a summary without the offered places.
        monkeypatch.setattr(registry_selectors, "registry_offered", lambda **kwargs: [])
        client.get(SUMMARY, query)  # cached under the previous format's key
        monkeypatch.undo()
        summary = client.get(SUMMARY, query)
        with django_assert_num_queries(0):
            assert client.get(SUMMARY, query).content == summary.content  # now cached in this format
    assert registry_cache.FORMAT == 4
    assert summary.json()["offered"] == 1
