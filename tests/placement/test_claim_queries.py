"""Query counts of a claim (issues 6 and 15: the claim storm's hot path). A claim reads the token with its user
(none once the token is cached), the place and the application (one statement each), then the transaction: the
parent's row with the block, the place taken, the application referred, the referral, its event, the audit record
and the parent's SMS in the notification outbox (issue 14: written in the claim's transaction, so a claim rolled
back sends nothing) — on PostgreSQL one statement (`placement_claim_take`), on SQLite eight. Nothing depends on how many
places, applications or children there are; a query that creeps in fails these tests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from placement.models import Referral
from placement.services.claims import place_claim
from placement.services.places import place_release
from tests.clock import at
from tests.factories import ApplicationFactory, ChildFactory, GroupFactory, RepresentationFactory, applicant
from tests.i18n import url
from tests.placement.claims import IN_GENERAL, RELEASED, claim_url

pytestmark = pytest.mark.django_db

# The locked part: on SQLite the parent's lock, the block (after the lock, never in the locking statement: see
# place_claim), the place's UPDATE, the application's UPDATE, the referral, the event, the audit record, the
# notification (one INSERT ... ON CONFLICT DO NOTHING).
TAKE = 1 if connection.vendor == "postgresql" else 8
# The API: token + user, place, application; then the locked part. A place taken by someone else is refused on
# the place alone, before the application is read.
API_201 = 3 + TAKE
API_409 = 2
# The page: session, user, place, application, then the locked part.
PAGE_201 = 4 + TAKE


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
def test_an_api_claim_answers_201_in_a_fixed_number_of_queries_whatever_the_city_holds(api_as, extra, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    busy_city(city, group, parent, extra=extra)
    client = api_as(parent)
    with at(IN_GENERAL), CaptureQueriesContext(connection) as context:
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["number"] == Referral.objects.get(place=place).number
    sent = statements(context)
    assert len(sent) == API_201, "\n".join(sent)
    if connection.vendor == "postgresql":
        assert "placement_claim_take(" in sent[-1]
    else:
        assert sum(s.startswith("INSERT") for s in sent) == 4 and sum(s.startswith("UPDATE") for s in sent) == 2


def test_a_cached_token_spares_its_query(api_as, city, group):
    first, second = place_release(group=group, count=2, at=RELEASED)
    parent, application = applicant(city, 1)
    _other_parent, other = applicant(city, 2)
    client = api_as(parent)
    with at(IN_GENERAL):
        client.post(claim_url(first.pk), {"application": other.number}, format="json")  # caches the token
        with CaptureQueriesContext(connection) as context:
            response = client.post(claim_url(second.pk), {"application": application.number}, format="json")
    assert response.status_code == 201, response.content
    # On SQLite the outbox row is written through the ORM, which reads the parent's phone: the cached
    # user does not carry them (no personal data in the cache). PostgreSQL's one statement reads them itself.
    assert len(statements(context)) == API_201 - (1 if connection.vendor == "postgresql" else 0)


@pytest.mark.parametrize("extra", [0, 5])
def test_an_api_claim_of_a_place_taken_by_another_answers_409_on_the_place_alone_and_locks_nothing(
    api_as, extra, city, group
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    winner, won = applicant(city, 0)
    place_claim(place=place, application=won, by=winner, at=IN_GENERAL)
    parent, application = applicant(city, 1)
    busy_city(city, group, parent, extra=extra)
    client = api_as(parent)
    with at(IN_GENERAL), CaptureQueriesContext(connection) as context:
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert (response.status_code, response.json()["reason"]) == (409, "taken")
    sent = statements(context)
    assert len(sent) == API_409, "\n".join(sent)
    assert not any("FOR " in s and "UPDATE" in s for s in sent)


def test_the_same_claim_repeated_answers_200_with_the_referral_and_no_lock(api_as, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    client = api_as(parent)
    with at(IN_GENERAL):
        client.post(claim_url(place.pk), {"application": application.number}, format="json")
        with CaptureQueriesContext(connection) as context:
            again = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert again.status_code == 200
    # The token is cached by the first claim; the place, the application, and the referral to show.
    sent = statements(context)
    assert len(sent) == 3, "\n".join(sent)
    assert not any("FOR " in s and "UPDATE" in s for s in sent)


@pytest.mark.parametrize("extra", [0, 5])
def test_the_confirmation_post_takes_the_place_in_a_fixed_number_of_queries(logged_in, extra, city, group):
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
