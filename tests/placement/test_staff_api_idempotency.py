"""The staff release and withdraw API is idempotent with an Idempotency-Key (issue 12, scenario 6): a client that
retries a POST after a timeout gets the first answer again and nothing happens twice; the same key with another
body is a 422. The key lives in the release form's double-submit table. On PostgreSQL, including two retries at
once."""

import pytest

from placement.models import Place, PlaceEvent, ReleaseSubmission
from placement.services.places import place_release
from tests.clock import astana, at
from tests.conftest import run_together
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

NOW = astana(2024, 5, 2, 10, 0)
RELEASE = "/api/v1/staff/places/"


def test_a_retried_release_with_the_same_key_and_body_answers_the_first_result_and_releases_once(
    postgres, api_as, group, staff
):
    api = api_as(staff)
    body = {"group": group.pk, "count": 2}
    with at(NOW):
        first = api.post(RELEASE, body, format="json", HTTP_IDEMPOTENCY_KEY="0d1c-retry")
        again = api.post(RELEASE, body, format="json", HTTP_IDEMPOTENCY_KEY="0d1c-retry")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Place.objects.filter(group=group).count() == 2
    assert ReleaseSubmission.objects.filter(token__startswith="api:").count() == 1


def test_the_same_key_with_another_body_is_refused_with_422_and_changes_nothing(postgres, api_as, group, staff):
    api = api_as(staff)
    with at(NOW):
        api.post(RELEASE, {"group": group.pk, "count": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        other = api.post(RELEASE, {"group": group.pk, "count": 3}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422 and other.json()["reason"] == "idempotency_key_reused"
    assert Place.objects.filter(group=group).count() == 2


def test_without_a_key_every_post_releases_and_keys_of_other_staff_do_not_mix(postgres, api_as, group, staff):
    colleague = StaffFactory(kindergarten=group.kindergarten)
    body = {"group": group.pk, "count": 1}
    with at(NOW):
        api_as(staff).post(RELEASE, body, format="json")
        api_as(staff).post(RELEASE, body, format="json")
        api_as(staff).post(RELEASE, body, format="json", HTTP_IDEMPOTENCY_KEY="same")
        assert api_as(colleague).post(RELEASE, body, format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Place.objects.filter(group=group).count() == 4


def test_a_retried_withdrawal_answers_the_first_result_not_a_conflict(postgres, api_as, group, staff):
    [place] = place_release(group=group, count=1, at=NOW)
    api = api_as(staff)
    url = f"/api/v1/staff/places/{place.pk}/withdraw/"
    with at(NOW):
        first = api.post(url, {"reason": "Ремонт"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
        again = api.post(url, {"reason": "Ремонт"}, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
        unkeyed = api.post(url, {"reason": "Ремонт"}, format="json")
    assert (first.status_code, again.status_code, unkeyed.status_code) == (200, 200, 409)
    assert again.json() == first.json()
    assert PlaceEvent.objects.filter(place=place, kind=PlaceEvent.Kind.WITHDRAWN).count() == 1


def test_a_refused_request_keeps_no_key(postgres, api_as, group, staff, other_staff):
    with at(NOW):
        refused = api_as(other_staff).post(
            RELEASE, {"group": group.pk, "count": 1}, format="json", HTTP_IDEMPOTENCY_KEY="r"
        )
    assert refused.status_code == 403
    assert not ReleaseSubmission.objects.exists()


def test_a_request_refused_by_the_service_keeps_no_key_and_its_retry_is_judged_again(postgres, api_as, group, staff):
    [place] = place_release(group=group, count=1, at=NOW)
    api = api_as(staff)
    url = f"/api/v1/staff/places/{place.pk}/withdraw/"
    with at(NOW):
        api.post(url, {"reason": "Ремонт"}, format="json")  # withdrawn without a key
        refused = api.post(url, {"reason": "Ремонт"}, format="json", HTTP_IDEMPOTENCY_KEY="w-2")
        again = api.post(url, {"reason": "Ремонт"}, format="json", HTTP_IDEMPOTENCY_KEY="w-2")
    assert (refused.status_code, again.status_code) == (409, 409)
    assert not ReleaseSubmission.objects.filter(token__startswith="api:").exists()


@pytest.mark.django_db(transaction=True)
def test_two_retries_racing_with_one_key_release_once(postgres, api_as, group, staff):
    body = {"group": group.pk, "count": 3}

    def post():
        return api_as(staff).post(RELEASE, body, format="json", HTTP_IDEMPOTENCY_KEY="race").status_code

    assert run_together(post, post) == [201, 201]
    assert Place.objects.filter(group=group).count() == 3


def test_the_schema_documents_the_idempotency_key(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/staff/places/", "/api/v1/staff/places/{id}/withdraw/"):
        operation = schema["paths"][path]["post"]
        assert "Idempotency-Key" in [parameter["name"] for parameter in operation["parameters"]]
        assert "422" in operation["responses"]
