"""Every claim attempt is counted for the operators by its outcome (issue 15, Metrics): the claim path counts
created, repeated and each refusal's code, through the same service the page and the API call."""

import pytest
from prometheus_client import REGISTRY

from placement.services.places import place_release
from tests.clock import at
from tests.factories import applicant
from tests.placement.claims import IN_GENERAL, RELEASED, claim_url

pytestmark = pytest.mark.django_db


def claims_counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("indigo_claims_total", {"outcome": outcome}) or 0.0


def test_each_claim_attempt_is_counted_by_its_outcome(api_as, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    (winner, won), (loser, lost) = applicant(city, 1), applicant(city, 2)
    before = {outcome: claims_counted(outcome) for outcome in ("created", "repeated", "taken")}
    winner_client = api_as(winner)
    with at(IN_GENERAL):
        assert winner_client.post(claim_url(place.pk), {"application": won.number}, format="json").status_code == 201
        assert winner_client.post(claim_url(place.pk), {"application": won.number}, format="json").status_code == 200
        assert api_as(loser).post(claim_url(place.pk), {"application": lost.number}, format="json").status_code == 409
    assert {outcome: claims_counted(outcome) - before[outcome] for outcome in before} == {
        "created": 1,
        "repeated": 1,
        "taken": 1,
    }
