"""Offer mode's races (issue 14, Done when), on PostgreSQL with real threads (tests/conftest `run_together`): an
offer accepted while the 18:00 run expires it, and a cabinet block while an offer is live, each end in one consistent
state whichever gets the locks first, with no error but the refusals the loser is told."""

import pytest

from accounts.models import CabinetBlock
from placement.errors import ClaimRefused, OfferExpired, OfferNotLive
from placement.models import Application, Offer, Place, Referral
from placement.services.blocks import cabinet_block
from placement.services.choices import choices_set
from placement.services.daily import run_daily
from placement.services.offers import offer_accept, offer_decline
from placement.services.places import place_release
from tests.clock import astana
from tests.conftest import run_together
from tests.factories import AdminFactory, CityFactory, GroupFactory, applicant

pytestmark = pytest.mark.django_db(transaction=True)

RELEASED = astana(2024, 9, 2, 10, 0)
RUN = astana(2024, 9, 2, 18, 0)
DEADLINE = astana(2024, 9, 4, 18, 0)
ANSWER = astana(2024, 9, 3, 10, 0)
OFFERS = 6


@pytest.fixture
def offered(postgres):
    """Six offers of one offer-mode city, one per parent, made by the first run."""
    city = CityFactory(allocation_mode="offer")
    group = GroupFactory(kindergarten__city=city)
    place_release(group=group, count=OFFERS, at=RELEASED)
    parents = []
    for minutes in range(OFFERS):
        parent, application = applicant(city, minutes)
        choices_set(
            application=application, kindergartens=[group.kindergarten], any_other=False, actor=parent, at=RELEASED
        )
        parents.append(parent)
    run_daily(at=RUN)
    offers = list(Offer.objects.select_related("application").order_by("queue_position"))
    assert len(offers) == OFFERS
    return city, list(zip(parents, offers, strict=True))


def assert_consistent():
    """Every place's state agrees with its offers and referrals, every application's with its referral and pause."""
    for place in Place.objects.all():
        live_offers = Offer.objects.filter(place=place, state="live").count()
        live_referrals = Referral.objects.filter(place=place, status="live").count()
        expected = {Place.State.OFFERED: (1, 0), Place.State.TAKEN: (0, 1), Place.State.PRIORITY: (0, 0)}
        assert (live_offers, live_referrals) == expected[place.state], place.state
    for application in Application.objects.all():
        referred = Referral.objects.filter(application=application, status="live").exists()
        assert (application.status == "referred") == referred
        if application.paused_at is not None:
            assert not referred and application.offers.filter(state="expired").exists()
    for offer in Offer.objects.filter(state="accepted"):
        assert offer.referral_id is not None


def test_offers_accepted_while_the_18_00_run_expires_them_end_consistent(offered):
    _, pairs = offered
    just_in_time = DEADLINE.replace(minute=59, hour=17)
    jobs = [lambda p=parent, o=offer: offer_accept(offer=o, parent=p, at=just_in_time) for parent, offer in pairs]
    jobs.append(lambda: run_daily(at=DEADLINE))
    results = run_together(*jobs)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, OfferNotLive | OfferExpired)]
    assert unexpected == []
    accepted = [r for r in results[:-1] if isinstance(r, Referral)]
    refused = [r for r in results[:-1] if isinstance(r, Exception)]
    assert len(accepted) + len(refused) == OFFERS
    assert Offer.objects.filter(state="accepted").count() == len(accepted)
    assert Offer.objects.filter(state="expired").count() == len(refused)
    assert Application.objects.filter(paused_at__isnull=False).count() == len(refused)
    assert_consistent()


def test_a_block_while_the_parent_answers_an_offer_ends_consistent(offered):
    _, pairs = offered
    admin = AdminFactory()
    jobs = []
    for index, (parent, offer) in enumerate(pairs):
        answer = offer_accept if index % 2 == 0 else offer_decline
        jobs.append(lambda p=parent, o=offer, answer=answer: answer(offer=o, parent=p, at=ANSWER))
        jobs.append(lambda p=parent: cabinet_block(user=p, by=admin, reason="Передал доступ", at=ANSWER))
    results = run_together(*jobs)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, OfferNotLive | ClaimRefused)]
    assert unexpected == []
    assert CabinetBlock.objects.count() == OFFERS
    # Whatever came first, a blocked parent holds neither a live offer nor a live referral, and every place is back.
    assert not Offer.objects.filter(state="live").exists()
    assert not Referral.objects.filter(status="live").exists()
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.PRIORITY}
    assert_consistent()
