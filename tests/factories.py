"""factory_boy factories, all in one place (STYLE.md, Tests), and the few builders of a whole situation that many
tests share (a parent in the queue, a referral). They use the project's own rules, never a copy of them."""

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from placement.models import City, Group, GroupType, Kindergarten, Language, Referral
from placement.services.applications import queue_category_for
from placement.services.claims import place_claim
from placement.services.places import place_release
from schedules.models import CohortWindow, KindergartenShift, SummerSchedule
from tests.clock import astana


class CityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = City
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"city-{n}")
    name_ru = factory.Sequence(lambda n: f"Город {n}")
    name_kk = factory.Sequence(lambda n: f"Қала {n}")
    name_en = factory.Sequence(lambda n: f"City {n}")
    priority_working_days = 3

    class Params:
        # The seed's city (DOMAIN.md, The seed's schedule), for pages that show the city's name.
        temirtau = factory.Trait(slug="temirtau", name_ru="Темиртау", name_kk="Теміртау", name_en="Temirtau")


class KindergartenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Kindergarten

    city = factory.SubFactory(CityFactory)
    code = factory.Sequence(lambda n: f"K-{n:03d}")
    name_ru = factory.Sequence(lambda n: f"Детский сад №{n}")
    name_kk = factory.Sequence(lambda n: f"№{n} балабақша")
    name_en = factory.Sequence(lambda n: f"Kindergarten No. {n}")
    address_ru = "ул. Абая, 1"
    address_kk = "Абай к-сі, 1"


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    kindergarten = factory.SubFactory(KindergartenFactory)
    birth_year = 2021
    language = Language.KK
    group_type = GroupType.GENERAL


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = "parent"
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StaffFactory(UserFactory):
    role = "staff"
    kindergarten = factory.SubFactory(KindergartenFactory)


class AdminFactory(UserFactory):
    role = "admin"
    is_staff = True


class SummerScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SummerSchedule

    city = factory.SubFactory(CityFactory)
    year = 2024
    campaign_start = dt.date(2024, 5, 15)


class CohortWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CohortWindow

    schedule = factory.SubFactory(SummerScheduleFactory)
    birth_year = 2021
    age = 3
    priority_start = dt.date(2024, 6, 3)


class KindergartenShiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KindergartenShift

    window = factory.SubFactory(CohortWindowFactory)
    kindergarten = factory.SubFactory(KindergartenFactory)
    shifted_start = dt.date(2024, 6, 10)
    reason_ru = "Ремонт"
    reason_kk = "Жөндеу"


def valid_iin(seed: int, prefix: str = "2106") -> str:
    """A valid IIN made from a number: the first 11 digits, then the control digit (skipping impossible ones)."""
    from accounts.validators import iin_check_digit

    n = seed
    while True:
        eleven = f"{prefix}{n:07d}"[:11]
        check = iin_check_digit(eleven)
        if check is not None:
            return eleven + str(check)
        n += 10_000_000  # change a digit that does not collide with nearby seeds


class ParentFactory(UserFactory):
    role = "parent"
    phone = factory.Sequence(lambda n: f"+7701{n:07d}")
    iin = factory.Sequence(lambda n: valid_iin(n, prefix="8501"))
    first_name = "Айгерим"
    last_name = "Сапарова"


class ChildFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Child"

    iin = factory.Sequence(lambda n: valid_iin(n, prefix="2106"))
    last_name = "Сапаров"
    first_name = "Арман"
    birth_date = dt.date(2021, 6, 1)


class RepresentationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "accounts.Representation"

    parent = factory.SubFactory(ParentFactory)
    child = factory.SubFactory(ChildFactory)
    kind = "parent"
    document = "Свидетельство о рождении № 123456"
    status = "confirmed"


class ApplicationFactory(factory.django.DjangoModelFactory):
    """A queued application; privileged ones are confirmed unless said otherwise."""

    class Meta:
        model = "placement.Application"

    child = factory.SubFactory(ChildFactory)
    parent = factory.SubFactory(ParentFactory)
    city = factory.SubFactory(CityFactory)
    birth_year = factory.LazyAttribute(lambda a: a.child.birth_date.year)
    language = "kk"
    group_type = "general"
    privilege = "none"
    privilege_status = factory.LazyAttribute(lambda a: "none" if a.privilege == "none" else "confirmed")
    queue_category = factory.LazyAttribute(
        lambda a: queue_category_for(privilege=a.privilege, privilege_status=a.privilege_status)
    )


CHILD_FIELDS = ("last_name", "first_name", "middle_name", "birth_date")


def applicant(city, minutes: int = 0, *, parent=None, representation: str = "confirmed", **fields):
    """A parent (a new one unless given) with a queued application in `city` for a new child born on 1 March 2021
    unless `birth_date` says otherwise. The parent's representation of the child is `representation`. Applied
    `minutes` after 2023-01-01 09:00, so the minutes give the queue order. The child's fields (CHILD_FIELDS) go to
    the child, any other field to the application. Returns (parent, application)."""
    parent = parent or ParentFactory()
    child_fields = {name: fields.pop(name) for name in CHILD_FIELDS if name in fields}
    child = ChildFactory(**{"birth_date": dt.date(2021, 3, 1), **child_fields})
    RepresentationFactory(parent=parent, child=child, status=representation)
    application = ApplicationFactory(
        parent=parent,
        child=child,
        city=city,
        applied_at=astana(2023, 1, 1, 9, 0) + dt.timedelta(minutes=minutes),
        **fields,
    )
    return parent, application


def referral_for(
    group, *, released: dt.datetime, claimed: dt.datetime, minutes: int = 0, **applicant_fields
) -> Referral:
    """A referral to `group`: a place released at `released` and claimed at `claimed` by an applicant of the
    group's city (see applicant, which gets `minutes` and the other fields)."""
    [place] = place_release(group=group, count=1, at=released)
    parent, application = applicant(group.kindergarten.city, minutes, **applicant_fields)
    referral, _ = place_claim(place=place, application=application, by=parent, at=claimed)
    return referral


def serving(city, *birth_years: int):
    """`city` with a group of each birth year (2020-2022 unless given), so that it serves those cohorts and takes
    applications for them (DOMAIN.md, Queue). Returns the city."""
    kindergarten = KindergartenFactory(city=city)
    for birth_year in birth_years or (2020, 2021, 2022):
        GroupFactory(kindergarten=kindergarten, birth_year=birth_year)
    return city
