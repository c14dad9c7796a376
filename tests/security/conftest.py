"""A small world for the security tests: two kindergartens of one city, their staff, a department admin, parents
with confirmed children in the queue, a referral and a contract at each kindergarten, a cabinet block and a
published protocol — so that every endpoint has something of the "other" kindergarten to refuse."""

import datetime as dt
from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token

from placement.models import Application, Contract, Group, Kindergarten, Place, Protocol, Referral
from placement.services.blocks import cabinet_block
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release
from placement.services.referrals import referral_enrol
from tests.clock import astana
from tests.factories import AdminFactory, CityFactory, GroupFactory, KindergartenFactory, StaffFactory, applicant

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
CLAIMED = astana(2024, 5, 7, 12, 0)  # general access; referrals valid until 2024-05-16 18:00
NOW = astana(2024, 5, 10, 11, 0)  # a Friday, within the referrals' validity


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def now():
    return NOW


@dataclass
class Side:
    """One kindergarten with everything that hangs on it."""

    kindergarten: Kindergarten
    group: Group
    staff: object
    parent: object
    application: Application
    referral: Referral  # live
    contract: Contract
    free_place: Place  # open in general access
    token: str  # the staff member's API token
    parent_token: str


@dataclass
class World:
    city: object
    ours: Side
    theirs: Side
    admin: object
    admin_token: str
    blocked_parent: object
    block: object
    protocol: Protocol


def _side(city, admin, index: int) -> Side:
    kindergarten = KindergartenFactory(city=city)
    group = GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk", group_type="general")
    staff = StaffFactory(kindergarten=kindergarten)
    places = place_release(group=group, count=3, by=staff, at=RELEASED)
    # One referral that stays live, one enrolled into a contract; the third place stays free.
    parent, application = applicant(city, index * 10)
    referral, _ = place_claim(place=places[0], application=application, by=parent, at=CLAIMED)
    enrolled_parent, enrolled_application = applicant(city, index * 10 + 1)
    enrolled, _ = place_claim(place=places[1], application=enrolled_application, by=enrolled_parent, at=CLAIMED)
    contract = referral_enrol(referral=enrolled, by=staff, at=CLAIMED + dt.timedelta(hours=1))
    return Side(
        kindergarten=kindergarten,
        group=group,
        staff=staff,
        parent=parent,
        application=application,
        referral=referral,
        contract=contract,
        free_place=places[2],
        token=Token.objects.create(user=staff).key,
        parent_token=Token.objects.create(user=parent).key,
    )


@pytest.fixture
def world(db, clock) -> World:
    city = CityFactory(slug="security-city")
    admin = AdminFactory()
    ours = _side(city, admin, 1)
    theirs = _side(city, admin, 2)
    blocked_parent, _ = applicant(city, 100)
    block = cabinet_block(user=blocked_parent, by=admin, reason="Передача доступа", at=CLAIMED)
    run_daily(at=NOW, city=city)
    protocol = Protocol.objects.filter(city=city).order_by("day").first()
    return World(
        city=city,
        ours=ours,
        theirs=theirs,
        admin=admin,
        admin_token=Token.objects.create(user=admin).key,
        blocked_parent=blocked_parent,
        block=block,
        protocol=protocol,
    )


def row_counts() -> dict[str, int]:
    """The rows that no refused request may change."""
    from accounts.models import AuditEntry, CabinetBlock, Child, Representation
    from placement.models import PlaceEvent

    models = [Place, PlaceEvent, Referral, Contract, Application, CabinetBlock, Child, Representation, AuditEntry]
    return {model.__name__: model.objects.count() for model in models}


def row_states() -> dict[str, list]:
    """The states of the rows a refused request might flip without changing a count."""
    from accounts.models import CabinetBlock

    return {
        "places": list(Place.objects.order_by("pk").values_list("pk", "state")),
        "referrals": list(Referral.objects.order_by("pk").values_list("pk", "status")),
        "contracts": list(Contract.objects.order_by("pk").values_list("pk", "status")),
        "applications": list(Application.objects.order_by("pk").values_list("pk", "status")),
        "blocks": list(CabinetBlock.objects.order_by("pk").values_list("pk", "lifted_at")),
    }
