"""The claim and referral API: POST /api/v1/places/<id>/claim/, GET /api/v1/me/referrals/,
POST /api/v1/me/referrals/<number>/decline/ (issue 5)."""

import datetime as dt
import logging

import pytest
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from accounts.models import AuditEntry
from placement.models import Place, Referral
from placement.services.claims import place_claim
from placement.services.places import place_release
from tests.clock import at
from tests.factories import ParentFactory, RepresentationFactory, StaffFactory, applicant
from tests.placement.claims import IN_GENERAL, REFUSAL_CODES, RELEASED, claim_url, refusal_situation

pytestmark = pytest.mark.django_db


@pytest.fixture
def free(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    return place, parent, application


def test_a_claim_answers_201_with_the_referral_and_the_same_claim_again_200_with_the_same_one(api_as, free):
    place, parent, application = free
    client = api_as(parent)
    with at(IN_GENERAL):
        first = client.post(claim_url(place.pk), {"application": application.number}, format="json")
        again = client.post(claim_url(place.pk), {"application": application.number.lower()}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    referral = Referral.objects.get()
    assert body["number"] == referral.number and body["place"] == place.pk and body["status"] == "live"
    assert body["kindergarten"] == {
        "id": place.kindergarten_id,
        "code": place.kindergarten.code,
        "name": place.kindergarten.name_ru,
    }
    assert body["valid_until"] == "2024-05-16T18:00:00+05:00"
    assert body["issued_at"] == "2024-05-07T12:00:00+05:00"
    assert (again.status_code, again.json()["number"]) == (200, referral.number)


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_every_refusal_reason_is_a_403_with_its_code(api_as, code, city, group):
    parent, application, place, moment = refusal_situation(code, city, group)
    with at(moment):
        response = api_as(parent, language="kk").post(
            claim_url(place.pk), {"application": application.number}, format="json"
        )
    assert response.status_code == 403, response.content
    assert response.json()["reason"] == code and response.json()["detail"]
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY


def test_a_taken_place_is_a_409_taken(api_as, free, city):
    place, parent, application = free
    other_parent, other = applicant(city, 0)
    place_claim(place=place, application=other, by=other_parent, at=IN_GENERAL)
    with at(IN_GENERAL):
        response = api_as(parent, language="ru").post(
            claim_url(place.pk), {"application": application.number}, format="json"
        )
    assert response.status_code == 409
    assert response.json()["reason"] == "taken"
    assert response.json()["detail"] and "already taken" not in response.json()["detail"]


def test_a_withdrawn_place_is_a_409_withdrawn(api_as, free, group):
    from placement.services.places import place_withdraw

    place, parent, application = free
    place_withdraw(place=place, by=StaffFactory(kindergarten=group.kindergarten), reason="Ремонт", at=IN_GENERAL)
    with at(IN_GENERAL):
        response = api_as(parent).post(claim_url(place.pk), {"application": application.number}, format="json")
    assert (response.status_code, response.json()["reason"]) == (409, "withdrawn")


def test_status_codes_for_bad_requests(api_as, free, city):
    place, parent, application = free
    _, foreign = applicant(city, 0)
    client = api_as(parent)
    with at(IN_GENERAL):
        assert api_as().post(claim_url(place.pk), {"application": application.number}).status_code == 401
        assert client.post(claim_url(999999), {"application": application.number}).status_code == 404
        assert client.post(claim_url(place.pk), {}).status_code == 400
        assert client.post(claim_url(place.pk), {"application": "ZZZZ-ZZZZ-ZZZZ"}).status_code == 400
        assert client.post(claim_url(place.pk), {"application": "x" * 500}).status_code == 400
        not_yours = client.post(claim_url(place.pk), {"application": foreign.number})
        staff = api_as(StaffFactory(kindergarten=place.kindergarten)).post(
            claim_url(place.pk), {"application": application.number}
        )
    assert (not_yours.status_code, not_yours.json()["reason"]) == (403, "not_your_application")
    assert staff.status_code == 403
    assert not Referral.objects.exists()


def test_a_session_post_without_csrf_is_refused(free):
    place, parent, application = free
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(parent)
    with at(IN_GENERAL):
        response = client.post(claim_url(place.pk), {"application": application.number})
    assert response.status_code == 403
    assert not Referral.objects.exists()


def test_my_referrals_lists_them_and_decline_returns_the_place(api_as, free):
    place, parent, application = free
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    client = api_as(parent)
    with at(IN_GENERAL):
        listed = client.get("/api/v1/me/referrals/")
        declined = client.post(f"/api/v1/me/referrals/{referral.number}/decline/")
        twice = client.post(f"/api/v1/me/referrals/{referral.number}/decline/")
        unknown = client.post("/api/v1/me/referrals/R-0000-0000-0000/decline/")
    assert listed.status_code == 200 and [r["number"] for r in listed.json()] == [referral.number]
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert (twice.status_code, twice.json()["reason"]) == (409, "referral_not_live")
    assert unknown.status_code == 404
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY


def test_another_parents_referral_is_404_and_the_other_representative_may_not_decline(api_as, free):
    place, parent, application = free
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    other = ParentFactory()
    RepresentationFactory(parent=other, child=referral.child)
    with at(IN_GENERAL):
        stranger = api_as(ParentFactory()).post(f"/api/v1/me/referrals/{referral.number}/decline/")
        not_holder = api_as(other).post(f"/api/v1/me/referrals/{referral.number}/decline/")
        anonymous = api_as().get("/api/v1/me/referrals/")
    assert stranger.status_code == 404
    assert (not_holder.status_code, not_holder.json()["reason"]) == (403, "not_referral_holder")
    assert anonymous.status_code == 401
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE


# --- Claim attempts per parent (issue 7: claim spam) -------------------------------------------------------

JUST_AFTER = IN_GENERAL + dt.timedelta(seconds=10)  # IN_GENERAL is a whole minute: this window ends in 50 s


@pytest.fixture
def limit(settings):
    settings.CLAIM_ATTEMPTS_PER_MINUTE = 3
    return 3


def rate_limit_audits() -> int:
    return AuditEntry.objects.filter(action="claim.rate_limited").count()


def test_past_the_limit_a_claim_is_a_429_with_retry_after_and_nothing_is_written(api_as, free, limit):
    place, parent, application = free
    client = api_as(parent, language="ru")
    with at(JUST_AFTER):
        for _ in range(limit):  # any attempt counts, a bot's garbage as well
            assert client.post(claim_url(999999), {"application": application.number}).status_code == 404
        refused = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"
    assert refused.json()["reason"] == "rate_limited"
    with translation.override("ru"):  # the request's language (the catalogs give the words)
        expected = gettext("Too many attempts to take a place. Try again in %(seconds)s s.") % {"seconds": 50}
    assert refused.json()["detail"] == expected
    assert not Referral.objects.exists()
    place.refresh_from_db()
    application.refresh_from_db()
    assert (place.state, application.status) == (Place.State.PRIORITY, "queued")


def test_an_honest_parent_with_a_few_409s_then_a_free_place_is_never_limited(api_as, city, group):
    places = place_release(group=group, count=6, at=RELEASED)
    for minutes, taken in enumerate(places[:5]):
        other_parent, other = applicant(city, minutes)
        place_claim(place=taken, application=other, by=other_parent, at=IN_GENERAL)
    parent, application = applicant(city, 10)
    client = api_as(parent)
    with at(JUST_AFTER):
        statuses = [
            client.post(claim_url(place.pk), {"application": application.number}, format="json").status_code
            for place in places
        ]
    assert statuses == [409] * 5 + [201]
    assert rate_limit_audits() == 0


def test_the_limit_resets_with_the_next_minute_and_each_window_is_audited_once(api_as, free, limit):
    place, parent, application = free
    client = api_as(parent)
    with at(JUST_AFTER):
        statuses = [client.post(claim_url(999999), {"application": "x"}).status_code for _ in range(limit + 20)]
    assert statuses == [404] * limit + [429] * 20
    assert rate_limit_audits() == 1
    entry = AuditEntry.objects.get(action="claim.rate_limited")
    assert (entry.actor_id, entry.details["limit"]) == (parent.pk, limit)
    with at(IN_GENERAL + dt.timedelta(minutes=1)):
        taken = client.post(claim_url(place.pk), {"application": application.number}, format="json")
        statuses = [client.post(claim_url(999999), {"application": "x"}).status_code for _ in range(limit + 5)]
    assert taken.status_code == 201
    assert statuses == [404] * (limit - 1) + [429] * 6
    assert rate_limit_audits() == 2


def test_one_parent_at_the_limit_does_not_limit_another(api_as, free, city, limit):
    place, parent, _application = free
    client = api_as(parent)
    with at(JUST_AFTER):
        for _ in range(limit + 1):
            client.post(claim_url(999999), {"application": "x"})
        other_parent, other = applicant(city, 0)
        response = api_as(other_parent).post(claim_url(place.pk), {"application": other.number}, format="json")
    assert response.status_code == 201


def test_an_unreachable_cache_lets_the_claim_through_with_a_warning(api_as, free, limit, monkeypatch, caplog):
    def unreachable(key, timeout):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("indigo.ratelimit._incr", unreachable)
    monkeypatch.setattr("indigo.ratelimit._warned_at", {})
    place, parent, application = free
    client = api_as(parent)
    with at(JUST_AFTER), caplog.at_level(logging.WARNING, logger="indigo.ratelimit"):
        statuses = [client.post(claim_url(999999), {"application": "x"}).status_code for _ in range(limit + 2)]
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert statuses == [404] * (limit + 2)
    assert response.status_code == 201
    warnings = [r for r in caplog.records if r.name == "indigo.ratelimit"]
    assert len(warnings) == 1 and "the cache is unreachable" in warnings[0].getMessage()


def test_a_dead_redis_neither_limits_nor_breaks_claims(api_as, free, limit, settings):
    # Nothing listens on port 1: every cache operation is refused at once (indigo.cache degrades it).
    settings.CACHES = {"default": {"BACKEND": "indigo.cache.TolerantRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    place, parent, application = free
    client = api_as(parent)
    with at(JUST_AFTER):
        statuses = [client.post(claim_url(999999), {"application": "x"}).status_code for _ in range(limit + 2)]
        response = client.post(claim_url(place.pk), {"application": application.number}, format="json")
    assert statuses == [404] * (limit + 2)
    assert response.status_code == 201
    assert rate_limit_audits() == 0


def test_the_referral_body_written_out_is_what_the_serializers_fields_give(free):
    from rest_framework import serializers

    from placement.api.me import ReferralSerializer
    from placement.selectors.parents import parent_referrals
    from placement.services.referrals import referral_decline

    place, parent, application = free
    with at(IN_GENERAL):
        place_claim(place=place, application=application, by=parent)
    live = parent_referrals(parent=parent).get()
    declined = referral_decline(referral=parent_referrals(parent=parent).get(), by=parent)
    for referral in (live, declined):
        for language in ("ru", "kk", "en"):
            with translation.override(language):
                fields = serializers.Serializer.to_representation(ReferralSerializer(), referral)
                assert ReferralSerializer(referral).data == fields
