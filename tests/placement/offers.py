"""The offer-mode story the cabinet, API, registry and protocol tests share (issue 14): a city in offer mode with two
kindergartens that serve the 2021 Kazakh cohort and one that does not, a parent whose child is first in the queue,
and the 18:00 run that offers a released place."""

import pytest

from placement.models import City, Offer
from placement.services.choices import choices_set
from placement.services.daily import run_daily
from placement.services.places import place_release
from tests.clock import astana
from tests.factories import CityFactory, GroupFactory, KindergartenFactory, applicant

RELEASED = astana(2024, 5, 2, 10, 0)  # Thu; in priority access until Mon 2024-05-06 18:00
RUN = astana(2024, 5, 2, 18, 0)  # the 18:00 run of the release day offers the place
ANSWERING = astana(2024, 5, 3, 12, 0)  # Fri: the offer is live
OFFER_DEADLINE = "04.05.2024 18:00"  # the 2nd counted working day after the run: Sat 4 May 2024 was worked
AFTER_DEADLINE = astana(2024, 5, 6, 12, 0)


@pytest.fixture
def offer_city():
    return CityFactory(allocation_mode=City.AllocationMode.OFFER, choices_max=3)


@pytest.fixture
def kindergartens(offer_city):
    """Two kindergartens with a 2021 Kazakh general group, and one with a Russian group only."""
    first = KindergartenFactory(city=offer_city, code="201")
    second = KindergartenFactory(city=offer_city, code="202")
    russian = KindergartenFactory(city=offer_city, code="203")
    GroupFactory(kindergarten=first, birth_year=2021, language="kk")
    GroupFactory(kindergarten=second, birth_year=2021, language="kk")
    GroupFactory(kindergarten=russian, birth_year=2021, language="ru")
    return first, second, russian


@pytest.fixture
def chooser(offer_city, kindergartens):
    """A parent whose child (born 2021, Kazakh group) is first in the offer-mode city's queue: (parent, application)."""
    return applicant(offer_city, 0, language="kk")


def offer_made(application, kindergarten, *, ranked: bool = True) -> Offer:
    """The 18:00 run of 2 May 2024 offers a place of `kindergarten` to `application` (its only choice, or "any
    other" when not `ranked`); the place was released that morning."""
    choices_set(
        application=application,
        kindergartens=[kindergarten] if ranked else [],
        any_other=not ranked,
        actor=application.parent,
        at=RELEASED,
    )
    group = kindergarten.groups.get(birth_year=application.birth_year, language="kk")
    place_release(group=group, count=1, at=RELEASED)
    run_daily(at=RUN, city=application.city)
    return Offer.objects.get(application=application, state=Offer.State.LIVE)
