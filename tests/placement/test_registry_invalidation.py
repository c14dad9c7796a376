"""The registry's cache is invalidated by what changed (issue 15): an event renews the tokens of its place's cohort
and kindergarten, so that an answer about another cohort or another kindergarten stays cached through a claim storm,
while every answer that shows the place is computed again — never staler than the last event."""

import pytest

from placement.services.claims import place_claim
from placement.services.places import place_release, place_withdraw
from tests.clock import at
from tests.factories import GroupFactory, KindergartenFactory, applicant
from tests.placement.test_registry_cache import API, IN_PRIORITY, RELEASED, SUMMARY, cached, ids
from tests.placement.test_registry_cache import _fresh_city_ids as _fresh_city_ids
from tests.placement.test_registry_cache import city as city
from tests.placement.test_registry_cache import committed as committed
from tests.placement.test_registry_cache import kindergarten as kindergarten

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere(city):
    """Another kindergarten of the city, with a group of another cohort."""
    other = KindergartenFactory(city=city, code="K-002")
    return GroupFactory(kindergarten=other, birth_year=2020, language="kk", group_type="general")


def test_an_event_in_one_cohort_leaves_the_answers_about_another_cohort_and_kindergarten_cached(
    client, city, group, elsewhere, django_assert_num_queries, committed
):
    place_release(group=group, count=2, at=RELEASED)
    [other_place] = place_release(group=elsewhere, count=1, at=RELEASED)
    other_cohort = {"city": "temirtau", "birth_year": "2020"}
    other_kindergarten = {"city": "temirtau", "kindergarten": str(elsewhere.kindergarten_id)}
    with at(IN_PRIORITY):
        cached(client, django_assert_num_queries, API, other_cohort)
        cached(client, django_assert_num_queries, SUMMARY, other_kindergarten)
        with committed():
            place_withdraw(place=group.places.first(), reason="Ремонт", at=IN_PRIORITY)
        with django_assert_num_queries(0):
            assert ids(client.get(API, other_cohort)) == [other_place.pk]
            assert client.get(SUMMARY, other_kindergarten).json()["total"] == 1


def test_an_event_renews_every_answer_that_shows_its_place(client, city, group, elsewhere, committed):
    first, second = place_release(group=group, count=2, at=RELEASED)
    [other_place] = place_release(group=elsewhere, count=1, at=RELEASED)
    asked = [
        (API, {"city": "temirtau"}),
        (API, {"city": "temirtau", "birth_year": "2021"}),
        (API, {"city": "temirtau", "kindergarten": str(group.kindergarten_id)}),
        (API, {}),
        (SUMMARY, {"city": "temirtau"}),
    ]
    with at(IN_PRIORITY):
        before = [client.get(path, params).json() for path, params in asked]
        with committed():
            place_withdraw(place=first, reason="Ремонт", at=IN_PRIORITY)
        after = [client.get(path, params).json() for path, params in asked]
    assert [ids_of(body) for body in before[:4]] == [
        sorted([first.pk, second.pk, other_place.pk]),
        sorted([first.pk, second.pk]),
        sorted([first.pk, second.pk]),
        sorted([first.pk, second.pk, other_place.pk]),
    ]
    assert [ids_of(body) for body in after[:4]] == [
        sorted([second.pk, other_place.pk]),
        [second.pk],
        [second.pk],
        sorted([second.pk, other_place.pk]),
    ]
    assert (before[4]["total"], after[4]["total"]) == (3, 2)


def test_a_claim_renews_its_cohort_and_leaves_another_cohort_cached(
    client, city, group, elsewhere, django_assert_num_queries, committed
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    place_release(group=elsewhere, count=1, at=RELEASED)
    parent, application = applicant(city)
    cohort = {"city": "temirtau", "birth_year": "2021"}
    other_cohort = {"city": "temirtau", "birth_year": "2020"}
    with at(IN_PRIORITY):
        assert ids(client.get(API, cohort)) == [place.pk]
        cached(client, django_assert_num_queries, API, other_cohort)
        with committed():
            place_claim(place=place, application=application, by=parent)
        assert ids(client.get(API, cohort)) == []
        with django_assert_num_queries(0):
            client.get(API, other_cohort)


def ids_of(body) -> list[int]:
    return sorted(item["id"] for item in body["results"])


# --- Offer mode (issue 14): the run's offers, the parent's answer and an expiry renew what shows their places ----


@pytest.fixture
def offer_mode(city):
    city.allocation_mode = "offer"
    city.save()
    return city


def test_offers_made_by_the_run_an_acceptance_a_decline_and_an_expiry_each_renew_the_cohorts_answers(
    client, offer_mode, group, committed
):
    from placement.models import Offer
    from placement.services.choices import choices_set
    from placement.services.daily import run_daily
    from placement.services.offers import offer_accept, offer_decline
    from tests.clock import astana

    first, second = place_release(group=group, count=2, at=RELEASED)
    taker, taking = applicant(offer_mode, 0)
    decliner, declining = applicant(offer_mode, 1)
    for parent, application in ((taker, taking), (decliner, declining)):
        choices_set(
            application=application, kindergartens=[group.kindergarten], any_other=False, actor=parent, at=RELEASED
        )
    cohort = {"city": "temirtau", "birth_year": "2021"}
    run = astana(2024, 5, 2, 18, 0)
    with at(run):
        assert ids(client.get(API, cohort)) == sorted([first.pk, second.pk])
        with committed():
            run_daily(at=run)
        assert ids(client.get(API, cohort)) == []  # offered places are not free
    answered = astana(2024, 5, 3, 10, 0)
    with at(answered):
        assert ids(client.get(API, cohort)) == []
        with committed():
            offer_decline(offer=Offer.objects.get(application=declining), parent=decliner, at=answered)
        [back] = ids(client.get(API, cohort))
        assert back in (first.pk, second.pk)
        with committed():
            offer_accept(offer=Offer.objects.get(application=taking), parent=taker, at=answered)
        assert ids(client.get(API, cohort)) == [back]
    # The next run offers the declined place again (the decliner still chooses the kindergarten); unanswered, the
    # offer expires at its deadline and the place is free again (the decliner is paused, nobody else is queued).
    later = astana(2024, 5, 3, 18, 0)
    with at(later), committed():
        run_daily(at=later)
    deadline = Offer.objects.get(state="live").valid_until
    with at(deadline):
        assert ids(client.get(API, cohort)) == []
        with committed():
            run_daily(at=deadline)
        assert ids(client.get(API, cohort)) == [back]
