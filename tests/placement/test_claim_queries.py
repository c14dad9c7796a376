"""Query counts of a claim (issue 6: the claim storm's hot path). A claim reads the token with its user, the place
and the application (one query each), then the transaction: the parent's row with the block, the place taken,
the application referred, the referral, its event, the audit record and the parent's SMS in the notification
outbox (issue 14: written in the claim's transaction, so a claim rolled back sends nothing). Nothing depends on how
many places, applications or children there are; a query that creeps in fails these tests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from placement.models import Referral
from placement.services.claims import place_claim
from placement.services.places import place_release
from tests.factories import ApplicationFactory, ChildFactory, GroupFactory, RepresentationFactory
from tests.placement.test_claim_api import api, at, claim_url
from tests.placement.test_claim_pages import IN_GENERAL, RELEASED, applicant, logged_in, url
from tests.placement.test_claim_pages import city as city
from tests.placement.test_claim_pages import group as group

pytestmark = pytest.mark.django_db

# The API: token + user, place, application; then the parent's lock, the block (after the lock, never in the
# locking statement: see place_claim), the place's UPDATE, the application's UPDATE, the referral, the event, the
# audit record, the notification (one INSERT ... ON CONFLICT DO NOTHING, nothing read for it).
API_201 = 3 + 8
API_409 = 3
# The page: session, user, place, application, then the same transaction.
PAGE_201 = 4 + 8


def statements(context: CaptureQueriesContext) -> list[str]:
    """The queries the request sent, without the savepoints of the test's own transaction (in production the
    claim's transaction is a BEGIN and a COMMIT, which Django does not log as queries)."""
    return [q["sql"] for q in context.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def busy_city(city, group, parent, *, extra: int) -> None:
    """More of everything around the claim: places in the group and in other groups, other children of the
    parent with their applications."""
    if not extra:
        return
    place_release(group=group, count=extra, at=RELEASED)
    other = GroupFactory(kindergarten__city=city, birth_year=2021, language="ru", group_type="general")
    place_release(group=other, count=extra, at=RELEASED)
    for _ in range(extra):
        child = ChildFactory()
        RepresentationFactory(parent=parent, child=child, status="confirmed")
        ApplicationFactory(parent=parent, child=child, city=city)


@pytest.mark.parametrize("extra", [0, 5])
def test_an_api_claim_answers_201_in_eleven_queries_whatever_the_city_holds(extra, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    busy_city(city, group, parent, extra=extra)
    client = api(parent)
    with at(IN_GENERAL), CaptureQueriesContext(connection) as context:
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == Referral.objects.get(place=place).number
    sent = statements(context)
    assert len(sent) == API_201, "\n".join(sent)
    assert sum(s.startswith("INSERT") for s in sent) == 4 and sum(s.startswith("UPDATE") for s in sent) == 2


@pytest.mark.parametrize("extra", [0, 5])
def test_an_api_claim_of_a_taken_place_answers_409_in_three_queries_and_locks_nothing(extra, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    winner, won = applicant(city, 0)
    place_claim(place=place, application=won, by=winner, at=IN_GENERAL)
    parent, application = applicant(city, 1)
    busy_city(city, group, parent, extra=extra)
    client = api(parent)
    with at(IN_GENERAL), CaptureQueriesContext(connection) as context:
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert (response.status_code, response.json()["reason"]) == (409, "taken")
    sent = statements(context)
    assert len(sent) == API_409, "\n".join(sent)
    assert not any("FOR " in s and "UPDATE" in s for s in sent)


def test_the_same_claim_repeated_answers_200_with_one_more_query_only(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    client = api(parent)
    with at(IN_GENERAL):
        client.post(claim_url(place.pk), {"application": application.number}, format="json")
        with CaptureQueriesContext(connection) as context:
            again = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert again.status_code == 200
    assert len(statements(context)) == API_409 + 1  # the referral, to show it


@pytest.mark.parametrize("extra", [0, 5])
def test_the_confirmation_post_takes_the_place_in_eleven_queries(extra, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    busy_city(city, group, parent, extra=extra)
    client = logged_in(parent)
    with at(IN_GENERAL), CaptureQueriesContext(connection) as context:
        response = client.post(url("place-claim", pk=place.pk), {"application": application.number})
    assert response.status_code == 302
    assert Referral.objects.filter(place=place, application=application).exists()
    sent = statements(context)
    assert len(sent) == PAGE_201, "\n".join(sent)
