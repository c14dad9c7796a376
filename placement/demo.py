"""Demo data for a first local run (`manage.py seed_demo`): Temirtau, its 2024 summer schedule (the seed notice) as
the demo's history, a current campaign timed relative to the day of seeding, and demo parents with children in the
queue.

Two timelines, both through the real services with `at` in the past:
- history: the 2024 releases of the seed notice, the 18:00 runs that moved them to general access in June 2024,
  and the end of that summer (the places still free then withdrawn, the groups complete);
- today: a campaign of the current year whose windows are counted in working days from today (one cohort's places
  in general access since a few days, one cohort's in priority access now, two cohorts still scheduled), releases
  of the last few working days in priority access, a withdrawal, places taken by the head of the queue (one child
  already enrolled). So whenever the demo is seeded, today's registry shows priority, general and taken places.

Everything is created with get_or_create/update_or_create, so seeding twice changes nothing; places are released
only when the city has no places yet.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from schedules.calendar import ASTANA, add_working_days, astana, at_astana
from schedules.models import CohortWindow, KindergartenShift, SummerSchedule

from .models import City, Group, GroupType, Kindergarten, Language, Place
from .selectors.claims import claim_refusal
from .selectors.queue import priority_places_count, queue_head
from .services.claims import place_claim
from .services.daily import run_daily
from .services.places import place_release, place_withdraw
from .services.referrals import referral_enrol

# Demo-only passwords, printed by seed_demo (for the README); never use them anywhere but a local first run.
DEMO_ADMIN_USERNAME = "admin"
DEMO_ADMIN_PASSWORD = "indigo-admin-demo"  # noqa: S105 (demo data, printed and documented)
DEMO_STAFF_PASSWORD = "indigo-staff-demo"  # noqa: S105 (demo data, printed and documented)

CITY = {"slug": "temirtau", "name_ru": "Темиртау", "name_kk": "Теміртау", "name_en": "Temirtau"}
SCHEDULE_YEAR = 2024
CAMPAIGN_START = dt.date(2024, 5, 20)
# The seed notice's table (DOMAIN.md, The seed's schedule): birth year, age, priority start.
WINDOWS = [
    (2021, 3, dt.date(2024, 6, 3)),
    (2020, 4, dt.date(2024, 6, 10)),
    (2019, 5, dt.date(2024, 6, 17)),
    (2022, 2, dt.date(2024, 6, 17)),
]
COHORTS = (2019, 2020, 2021, 2022)


@dataclass(frozen=True)
class DemoKindergarten:
    code: str
    name_ru: str
    name_kk: str
    name_en: str
    address_ru: str
    address_kk: str
    district: str
    phone: str
    latitude: str
    longitude: str
    extra_groups: tuple = field(default=())  # (birth_year, language, group_type)


DISTRICTS = {
    "new": ("Новый город", "Жаңа қала", "New Town"),
    "old": ("Старый город", "Ескі қала", "Old Town"),
    "soc": ("Соцгород", "Соцқала", "Sotsgorod"),
}

KINDERGARTENS = [
    DemoKindergarten(
        "001",
        "Ясли-сад «Балбөбек»",
        "«Балбөбек» бөбекжай-бақшасы",
        "Balbobek Nursery and Kindergarten",
        "пр. Республики, 33",
        "Республика даңғылы, 33",
        "new",
        "+7 7213 44-10-01",
        "50.0581",
        "72.9612",
        ((2020, Language.RU, GroupType.SPECIAL),),
    ),
    DemoKindergarten(
        "002",
        "Ясли-сад «Айгөлек»",
        "«Айгөлек» бөбекжай-бақшасы",
        "Aigolek Nursery and Kindergarten",
        "ул. Мира, 12",
        "Бейбітшілік көшесі, 12",
        "new",
        "+7 7213 44-10-02",
        "50.0613",
        "72.9678",
    ),
    DemoKindergarten(
        "003",
        "Детский сад «Солнышко»",
        "«Солнышко» балабақшасы",
        "Solnyshko Kindergarten",
        "ул. Фурманова, 7",
        "Фурманов көшесі, 7",
        "old",
        "+7 7213 44-10-03",
        "50.0542",
        "72.9445",
        ((2019, Language.RU, GroupType.SANATORIUM),),
    ),
    DemoKindergarten(
        "004",
        "Ясли-сад «Ақбота»",
        "«Ақбота» бөбекжай-бақшасы",
        "Akbota Nursery and Kindergarten",
        "ул. Абая, 65",
        "Абай көшесі, 65",
        "new",
        "+7 7213 44-10-04",
        "50.0650",
        "72.9721",
    ),
    DemoKindergarten(
        "005",
        "Ясли-сад «Балапан»",
        "«Балапан» бөбекжай-бақшасы",
        "Balapan Nursery and Kindergarten",
        "пр. Металлургов, 18",
        "Металлургтер даңғылы, 18",
        "soc",
        "+7 7213 44-10-05",
        "50.0705",
        "72.9550",
        ((2021, Language.KK, GroupType.SPECIAL),),
    ),
    DemoKindergarten(
        "006",
        "Детский сад «Ертегі»",
        "«Ертегі» балабақшасы",
        "Ertegi Kindergarten",
        "ул. Казахстанская, 41",
        "Қазақстан көшесі, 41",
        "old",
        "+7 7213 44-10-06",
        "50.0521",
        "72.9503",
    ),
    DemoKindergarten(
        "007",
        "Детский сад «Радуга»",
        "«Кемпірқосақ» балабақшасы",
        "Raduga (Rainbow) Kindergarten",
        "ул. Блюхера, 24",
        "Блюхер көшесі, 24",
        "soc",
        "+7 7213 44-10-07",
        "50.0688",
        "72.9489",
        ((2020, Language.KK, GroupType.SANATORIUM),),
    ),
    DemoKindergarten(
        "008",
        "Детский сад «Теремок»",
        "«Теремок» балабақшасы",
        "Teremok Kindergarten",
        "ул. Димитрова, 9",
        "Димитров көшесі, 9",
        "old",
        "+7 7213 44-10-08",
        "50.0498",
        "72.9587",
    ),
    DemoKindergarten(
        "009",
        "Ясли-сад «Күншуақ»",
        "«Күншуақ» бөбекжай-бақшасы",
        "Kunshuak Nursery and Kindergarten",
        "7 микрорайон, 15",
        "7 шағын аудан, 15",
        "new",
        "+7 7213 44-10-09",
        "50.0632",
        "72.9810",
    ),
    DemoKindergarten(
        "010",
        "Детский сад «Жұлдыз»",
        "«Жұлдыз» балабақшасы",
        "Zhuldyz Kindergarten",
        "ул. Уалиханова, 3",
        "Уәлиханов көшесі, 3",
        "soc",
        "+7 7213 44-10-10",
        "50.0724",
        "72.9602",
    ),
]

# Group names by the cohort's age in the campaign: nursery, junior, middle, senior.
GROUP_NAMES = {
    2: ("Ясельная группа", "Бөбекжай тобы", "Nursery group"),
    3: ("Младшая группа", "Кіші топ", "Junior group"),
    4: ("Средняя группа", "Ортаңғы топ", "Middle group"),
    5: ("Старшая группа", "Ересек топ", "Senior group"),
}
LANGUAGE_NAMES = {
    Language.KK: ("казахский язык", "қазақ тілі", "Kazakh"),
    Language.RU: ("русский язык", "орыс тілі", "Russian"),
}
TYPE_NAMES = {
    GroupType.GENERAL: ("", "", ""),
    GroupType.SPECIAL: ("коррекционная, ", "түзету, ", "special, "),
    GroupType.SANATORIUM: ("санаторная, ", "санаторлық, ", "sanatorium, "),
}

# One kindergarten starts the 4-year-olds' window a week late (DOMAIN.md, Places 1: shifted per kindergarten).
SHIFT = {
    "code": "002",
    "birth_year": 2020,
    "shifted_start": dt.date(2024, 6, 17),
    "reason_ru": "Текущий ремонт групповых помещений",
    "reason_kk": "Топ бөлмелерін ағымдағы жөндеу",
    "reason_en": "Routine repairs of the group rooms",
}


def astana_at(year, month, day, hour=10, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=ASTANA)


# The end of the history's summer: the places still free are withdrawn, the groups complete for the school year.
HISTORY_RUN_UNTIL = astana_at(2024, 6, 21, 18, 0)  # after the last window of 2024 went general
HISTORY_CLOSED_AT = astana_at(2024, 8, 30, 17, 0)
HISTORY_CLOSE_REASON = "Группа укомплектована на новый учебный год"


def campaign_year(now: dt.datetime) -> int:
    """The year of the current campaign: the year of the seeding (the history's 2024 has no current campaign)."""
    return astana(now).year


def current_cohorts(now: dt.datetime) -> dict[int, int]:
    """Birth year -> age of the current campaign's cohorts, 2 to 5 years old."""
    year = campaign_year(now)
    return {year - age: age for age in (5, 4, 3, 2)}


def cohort_age(birth_year: int, now: dt.datetime) -> int:
    """The age a group is named after: in the current campaign for its cohorts, else in the history's 2024."""
    current = current_cohorts(now)
    if campaign_year(now) > SCHEDULE_YEAR and birth_year in current:
        return current[birth_year]
    return min(max(SCHEDULE_YEAR - birth_year, 2), 5)


@dataclass
class SeedResult:
    city: City
    schedule: SummerSchedule
    kindergartens: list[Kindergarten]
    staff: list
    admin: object
    current_schedule: SummerSchedule | None = None
    places_released: int = 0
    places_withdrawn: int = 0
    places_taken: int = 0
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, who)
    parents: list = field(default_factory=list)  # the demo parents, who log in by SMS code
    applications_created: int = 0
    offer_city: City | None = None  # the demo city in offer mode (issue 14)
    offer_parents: list = field(default_factory=list)  # its demo parents, who log in by SMS code


def _group_names(age: int, language: str, group_type: str) -> dict[str, str]:
    base = GROUP_NAMES[age]
    lang = LANGUAGE_NAMES[language]
    kind = TYPE_NAMES[group_type]
    return {
        "name_ru": f"{base[0]} ({kind[0]}{lang[0]})",
        "name_kk": f"{base[1]} ({kind[1]}{lang[1]})",
        "name_en": f"{base[2]} ({kind[2]}{lang[2]})",
    }


def _seed_city() -> tuple[City, SummerSchedule]:
    city, _ = City.objects.update_or_create(
        slug=CITY["slug"], defaults={k: v for k, v in CITY.items() if k != "slug"} | {"priority_working_days": 3}
    )
    schedule, _ = SummerSchedule.objects.update_or_create(
        city=city,
        year=SCHEDULE_YEAR,
        defaults={
            "campaign_start": CAMPAIGN_START,
            "note_ru": "Темиртау, Карагандинская область",
            "note_kk": "Теміртау қ., Қарағанды облысы",
            "note_en": "Temirtau, Karaganda region",
        },
    )
    for birth_year, age, start in WINDOWS:
        CohortWindow.objects.update_or_create(
            schedule=schedule, birth_year=birth_year, defaults={"age": age, "priority_start": start}
        )
    return city, schedule


def _seed_kindergartens(city: City, now: dt.datetime) -> list[Kindergarten]:
    kindergartens = []
    for demo in KINDERGARTENS:
        district = DISTRICTS[demo.district]
        kindergarten, _ = Kindergarten.objects.update_or_create(
            city=city,
            code=demo.code,
            defaults={
                "name_ru": demo.name_ru,
                "name_kk": demo.name_kk,
                "name_en": demo.name_en,
                "address_ru": f"Темиртау, {demo.address_ru}",
                "address_kk": f"Теміртау, {demo.address_kk}",
                "address_en": "",
                "district_ru": district[0],
                "district_kk": district[1],
                "district_en": district[2],
                "phone": demo.phone,
                "email": f"kindergarten-{demo.code}@edu-temirtau.example.kz",
                "latitude": Decimal(demo.latitude),
                "longitude": Decimal(demo.longitude),
            },
        )
        years = sorted({*COHORTS, *current_cohorts(now)}) if campaign_year(now) > SCHEDULE_YEAR else COHORTS
        groups = [(year, language, GroupType.GENERAL) for year in years for language in (Language.KK, Language.RU)]
        for birth_year, language, group_type in [*groups, *demo.extra_groups]:
            Group.objects.update_or_create(
                kindergarten=kindergarten,
                birth_year=birth_year,
                language=language,
                group_type=group_type,
                defaults=_group_names(cohort_age(birth_year, now), language, group_type),
            )
        kindergartens.append(kindergarten)
    return kindergartens


def _seed_shift(schedule: SummerSchedule, city: City) -> None:
    window = CohortWindow.objects.get(schedule=schedule, birth_year=SHIFT["birth_year"])
    kindergarten = Kindergarten.objects.get(city=city, code=SHIFT["code"])
    KindergartenShift.objects.update_or_create(
        window=window,
        kindergarten=kindergarten,
        defaults={k: v for k, v in SHIFT.items() if k.startswith("reason_") or k == "shifted_start"},
    )


def _seed_users(kindergartens: list[Kindergarten]) -> tuple[list, object, list]:
    User = get_user_model()
    credentials = []
    staff = []
    staff_password_hash = None  # hashed once: the demo staff share one documented password
    for kindergarten in kindergartens:
        username = f"staff-{kindergarten.code}"
        user, created = User.objects.update_or_create(
            username=username,
            defaults={"role": User.Role.STAFF, "kindergarten": kindergarten, "is_active": True},
        )
        if created:  # a password changed after the first run is left alone
            staff_password_hash = staff_password_hash or make_password(DEMO_STAFF_PASSWORD)
            user.password = staff_password_hash
            user.save(update_fields=["password"])
        staff.append(user)
        credentials.append((username, DEMO_STAFF_PASSWORD, kindergarten.name_ru))
    admin, created = User.objects.update_or_create(
        username=DEMO_ADMIN_USERNAME,
        defaults={"role": User.Role.ADMIN, "is_staff": True, "is_superuser": True, "is_active": True},
    )
    if created:
        admin.set_password(DEMO_ADMIN_PASSWORD)
        admin.save(update_fields=["password"])
    credentials.append((DEMO_ADMIN_USERNAME, DEMO_ADMIN_PASSWORD, "education department admin"))
    return staff, admin, credentials


def _release_plan(kindergartens: list[Kindergarten]):
    """(group, count, at) of the demo's releases in 2024, in time order.

    Year-round releases come before the campaign (in priority at once, general after three working days; one is
    the DOMAIN.md example, Thu 2024-05-02 10:00 → general at Mon 05-06 18:00). Summer releases between 05-20 and
    06-02 wait, scheduled, for their cohort's window.
    """
    plan = []
    for index, kindergarten in enumerate(kindergartens):
        groups = {(g.birth_year, g.language, g.group_type): g for g in kindergarten.groups.all()}
        general = GroupType.GENERAL
        # Year-round: a place or two freed in April and early May.
        if index % 3 == 0:
            plan.append((groups[(2020, Language.RU, general)], 1, astana_at(2024, 4, 15, 11, 30)))
        if index % 4 == 1:
            plan.append((groups[(2019, Language.KK, general)], 2, astana_at(2024, 5, 2, 10, 0)))
        # Summer: every cohort, both languages, released in the fortnight before the first window.
        for offset, birth_year in enumerate(COHORTS):
            for language in (Language.KK, Language.RU):
                count = 2 + (index + offset + (language == Language.RU)) % 4
                day = dt.date(2024, 5, 20) + dt.timedelta(days=(index + 3 * offset) % 14)
                plan.append(
                    (
                        groups[(birth_year, language, general)],
                        count,
                        astana_at(day.year, day.month, day.day, 9, 30 + index),
                    )
                )
        for (_year, _language, group_type), group in groups.items():
            if group_type != general:
                plan.append((group, 1, astana_at(2024, 5, 24, 15, 0)))
    return sorted(plan, key=lambda item: item[2])


def _seed_places(city: City, kindergartens: list[Kindergarten], staff: list, now: dt.datetime) -> tuple[int, int]:
    by_kindergarten = {user.kindergarten_id: user for user in staff}
    released = 0
    for group, count, at in _release_plan(kindergartens):
        released += len(place_release(group=group, count=count, by=by_kindergarten[group.kindergarten_id], at=at))

    withdrawn = 0
    withdrawals = [
        (
            "004",
            2021,
            Language.RU,
            astana_at(2024, 5, 29, 16, 10),
            "Место выпущено ошибочно: воспитанник остаётся в группе",
        ),
        ("006", 2020, Language.KK, astana_at(2024, 5, 31, 11, 45), "Группа закрыта на карантин до 1 июля"),
    ]
    for code, birth_year, language, at, reason in withdrawals:
        place = (
            Place.objects.filter(
                city=city,
                kindergarten__code=code,
                group__birth_year=birth_year,
                group__language=language,
                group__group_type=GroupType.GENERAL,
                released_at__lt=at,
                state__in=Place.WITHDRAWABLE_STATES,
            )
            .order_by("pk")
            .first()
        )
        if place is not None:
            kindergarten_staff = by_kindergarten[place.kindergarten_id]
            place_withdraw(place=place, by=kindergarten_staff, reason=reason, at=at)
            withdrawn += 1

    return released, withdrawn


def _close_history(city: City, staff: list, now: dt.datetime) -> int:
    """The end of the 2024 summer: the 18:00 runs of June 2024 (so the protocols record the moves to general
    access), then the places still free withdrawn at the end of August, the groups complete."""
    if now <= HISTORY_CLOSED_AT:
        return 0
    run_daily(at=HISTORY_RUN_UNTIL, city=city)
    by_kindergarten = {user.kindergarten_id: user for user in staff}
    withdrawn = 0
    for place in Place.objects.filter(city=city, state__in=Place.WITHDRAWABLE_STATES, released_at__year=2024):
        place_withdraw(
            place=place, by=by_kindergarten[place.kindergarten_id], reason=HISTORY_CLOSE_REASON, at=HISTORY_CLOSED_AT
        )
        withdrawn += 1
    return withdrawn


# --- Today: a campaign counted from the day of seeding (issue 13) -----------------------------------------------


def working_day(now: dt.datetime, offset: int) -> dt.date:
    """The `offset`-th working day after today (before it when negative)."""
    return add_working_days(astana(now).date(), offset)


def _seed_current_schedule(city: City, now: dt.datetime) -> SummerSchedule | None:
    """The current year's campaign, its windows counted in working days from today: the 3-year-olds' opened six
    working days ago (their places are in general access now), the 4-year-olds' yesterday (in priority access
    now), the 2- and 5-year-olds' open in a week (their places wait, scheduled). Created once: a later seeding
    leaves the dates as they were."""
    year = campaign_year(now)
    if year <= SCHEDULE_YEAR:
        return None
    starts = {3: working_day(now, -6), 4: working_day(now, -1), 5: working_day(now, 5), 2: working_day(now, 5)}
    schedule, created = SummerSchedule.objects.get_or_create(
        city=city,
        year=year,
        defaults={
            "campaign_start": max(dt.date(year, 1, 1), working_day(now, -15)),
            "note_ru": "Демонстрационная кампания: даты отсчитаны от дня, когда были созданы демо-данные",
            "note_kk": "Демонстрациялық науқан: күндер демо-деректер жасалған күннен бастап есептелген",
            "note_en": "Demo campaign: the dates are counted from the day the demo data was created",
        },
    )
    if created:
        for birth_year, age in current_cohorts(now).items():
            CohortWindow.objects.create(schedule=schedule, birth_year=birth_year, age=age, priority_start=starts[age])
    return schedule


def _current_plan(kindergartens: list[Kindergarten], now: dt.datetime):
    """(group, count, at) of today's timeline, in time order: summer releases a fortnight ago, scheduled until their
    cohort's window; then places of the 3-year-olds, whose window has passed, released these last two working
    days (in priority access at once)."""
    cohorts = {age: year for year, age in current_cohorts(now).items()}
    plan = []
    for index, kindergarten in enumerate(kindergartens):
        groups = {(g.birth_year, g.language): g for g in kindergarten.groups.filter(group_type=GroupType.GENERAL)}
        for offset, age in enumerate((3, 4, 5, 2)):
            for language in (Language.KK, Language.RU):
                count = 1 + (index + offset + (language == Language.RU)) % 3
                day = working_day(now, -12 + (index + offset) % 4)
                plan.append((groups[(cohorts[age], language)], count, at_astana(day, dt.time(9, 30 + index))))
        if index % 2 == 0:
            language = Language.KK if index % 4 == 0 else Language.RU
            plan.append((groups[(cohorts[3], language)], 1 + index % 3, at_astana(working_day(now, -2), dt.time(10))))
        if index % 3 == 0:
            plan.append((groups[(cohorts[3], Language.RU)], 1, at_astana(working_day(now, -1), dt.time(11, index))))
    return sorted(plan, key=lambda item: item[2])


def _seed_current_places(city: City, kindergartens: list, staff: list, now: dt.datetime) -> tuple[int, int]:
    by_kindergarten = {user.kindergarten_id: user for user in staff}
    released = 0
    for group, count, at in _current_plan(kindergartens, now):
        released += len(place_release(group=group, count=count, by=by_kindergarten[group.kindergarten_id], at=at))
    # A kindergarten withdraws a place still waiting for its window.
    four = {age: year for year, age in current_cohorts(now).items()}[4]
    place = (
        Place.objects.filter(
            city=city, kindergarten=kindergartens[5], group__birth_year=four, state=Place.State.SCHEDULED
        )
        .order_by("pk")
        .first()
    )
    if place is None:
        return released, 0
    place_withdraw(
        place=place,
        by=by_kindergarten[place.kindergarten_id],
        reason="Группа закрыта на карантин до конца месяца",
        at=at_astana(working_day(now, -3), dt.time(11, 45)),
    )
    return released, 1


def _seed_current_claims(city: City, staff: list, now: dt.datetime) -> int:
    """Yesterday afternoon the head of the 3-year-olds' queue took two places in priority access: a demo parent's
    child (a live referral, in their cabinet and on the kindergarten's referrals page) and a child the kindergarten
    enrolled at once. Each claim is judged by the claim rule, as on the site."""
    three = {age: year for year, age in current_cohorts(now).items()}[3]
    at = at_astana(working_day(now, -1), dt.time(15, 0))
    head = priority_places_count(city_id=city.pk, birth_year=three, at=at)
    entries = queue_head(city=city, birth_year=three, n=head)
    applications = {a.pk: a for a in city.applications.filter(pk__in=[e.application_id for e in entries])}
    ordered = sorted(
        (applications[e.application_id] for e in entries),
        key=lambda a: (a.parent.phone != DEMO_CLAIMANT_PHONE, a.parent.phone is not None),
    )
    places = list(Place.objects.in_priority_at(at).filter(city=city, group__birth_year=three).select_related("group"))
    by_kindergarten = {user.kindergarten_id: user for user in staff}
    taken, enrolled = 0, False
    for application in ordered:
        parent = application.parent
        free = (p for p in places if claim_refusal(place=p, application=application, by=parent, at=at) is None)
        place = next(free, None)
        if place is None:
            continue
        referral, _created = place_claim(place=place, application=application, by=parent, at=at)
        places.remove(place)
        taken += 1
        if parent.phone != DEMO_CLAIMANT_PHONE and not enrolled:
            referral_enrol(referral=referral, by=by_kindergarten[place.kindergarten_id], at=at + dt.timedelta(hours=1))
            enrolled = True
        if taken == 2:
            break
    return taken


# --- Demo parents and the queue (issue 4) ---------------------------------------------------------------------------
# Six parents who log in by SMS code (the console backend prints it), each a CONFIRMED legal representative of one
# or two children, with applications in Temirtau in every cohort: one confirmed priority right, one extraordinary
# right still PENDING (an admin confirms it and sees the position change), the rest general. Around them, a
# background queue of anonymous-ish applications (generated people, no phones) so that positions look real.

DEMO_PARENT_LOGIN_PHONE = "+77010000001"
DEMO_CLAIMANT_PHONE = "+77010000004"  # their 3-year-old took a place yesterday: a live referral
BACKGROUND_APPLICATIONS = 200


@dataclass(frozen=True)
class DemoChild:
    """A demo child of the current campaign: `age` in the campaign's year, born on `birthday` (month, day) of the
    year that gives, applied `applied_after` days after birth at 09:00 plus `minute`."""

    last_name: str
    first_name: str
    middle_name: str
    age: int
    birthday: tuple[int, int]
    language: str
    applied_after: int
    minute: int = 0
    privilege: str = "none"
    privilege_status: str = "none"  # "confirmed" or "pending" with a privilege
    privilege_document: str = ""
    female: bool = False

    def birth_date(self, now: dt.datetime) -> dt.date:
        return dt.date(campaign_year(now) - self.age, *self.birthday)

    def applied_at(self, now: dt.datetime) -> dt.datetime:
        born = self.birth_date(now)
        return at_astana(born + dt.timedelta(days=self.applied_after), dt.time(9, self.minute))


@dataclass(frozen=True)
class DemoParent:
    phone: str
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date
    female: bool
    kind: str
    document: str
    children: tuple


DEMO_PARENTS = [
    DemoParent(
        "+77010000001",
        "Сапарова",
        "Айгерим",
        "Нурлановна",
        dt.date(1990, 3, 15),
        True,
        "parent",
        "Свидетельства о рождении детей",  # noqa: RUF001 (Cyrillic prepositions)
        (
            DemoChild("Сапаров", "Арман", "Ерланович", 3, (2, 12), "kk", 40, 15),
            DemoChild("Сапарова", "Аяна", "Ерлановна", 5, (9, 3), "kk", 160, 40, female=True),
        ),
    ),
    DemoParent(
        "+77010000002",
        "Иванова",
        "Елена",
        "Петровна",
        dt.date(1988, 11, 2),
        True,
        "parent",
        "Свидетельство о рождении № 0456712",  # noqa: RUF001 (Cyrillic prepositions)
        (
            DemoChild(
                "Иванов",
                "Максим",
                "Сергеевич",
                4,
                (8, 17),
                "ru",
                210,
                40,
                privilege="priority",
                privilege_status="confirmed",
                privilege_document="Справка о многодетной семье № 112",  # noqa: RUF001 (Cyrillic prepositions)
            ),
        ),
    ),
    DemoParent(
        "+77010000003",
        "Жаксылыков",
        "Ерлан",
        "Маратович",
        dt.date(1986, 6, 21),
        False,
        "parent",
        "Свидетельство о рождении № 0789034",  # noqa: RUF001 (Cyrillic prepositions)
        (
            DemoChild(
                "Жаксылыкова",
                "Томирис",
                "Ерлановна",
                2,
                (9, 25),
                "kk",
                150,
                20,
                privilege="extraordinary",
                privilege_status="pending",
                female=True,
                privilege_document="Удостоверение военнослужащего № 5521",
            ),
        ),
    ),
    DemoParent(
        "+77010000004",
        "Ким",
        "Ольга",
        "Викторовна",
        dt.date(1992, 1, 9),
        True,
        "adoptive",
        "Решение суда об усыновлении № 2-114/2019",  # noqa: RUF001 (Cyrillic prepositions)
        (
            DemoChild("Ким", "Даниил", "Андреевич", 3, (1, 30), "ru", 25, 5),
            DemoChild("Ким", "Алиса", "Андреевна", 5, (6, 11), "any", 120, 30, female=True),
        ),
    ),
    DemoParent(
        "+77010000005",
        "Нургалиева",
        "Айжан",
        "Болатовна",
        dt.date(1979, 12, 30),
        True,
        "guardian",
        "Постановление акимата об опеке № 318",  # noqa: RUF001 (Cyrillic prepositions)
        (DemoChild("Нургалиев", "Алихан", "Русланович", 4, (3, 5), "any", 300, 10),),
    ),
    DemoParent(
        "+77010000006",
        "Омаров",
        "Тимур",
        "Асланович",
        dt.date(1994, 7, 4),
        False,
        "parent",
        "Свидетельство о рождении № 0912245",  # noqa: RUF001 (Cyrillic prepositions)
        (DemoChild("Омарова", "Амина", "Тимуровна", 2, (7, 19), "ru", 120, 0, female=True),),
    ),
]


def demo_iin(birth_date: dt.date, *, female: bool, serial: int) -> str:
    """A checksum-valid IIN in the usual layout: YYMMDD, the century-and-sex digit, a 4-digit serial, the check."""
    from accounts.validators import iin_check_digit

    century = (3 if birth_date.year < 2000 else 5) + (1 if female else 0)
    while True:
        eleven = f"{birth_date:%y%m%d}{century}{serial % 10000:04d}"
        check = iin_check_digit(eleven)
        if check is not None:
            return eleven + str(check)
        serial += 1


def _seed_demo_parents(city: City, admin, now: dt.datetime, demo_parents=None) -> tuple[list, int]:
    """The six demo parents (or `demo_parents`); a child that already has an application in the city (even
    withdrawn) gets none."""
    from accounts.models import Child, Representation
    from accounts.services.people import child_register, representation_decide

    from .models import Application
    from .services.applications import application_create, application_privilege_decide

    User = get_user_model()
    parents, created_applications = [], 0
    for index, demo in enumerate(demo_parents or DEMO_PARENTS, start=1 if demo_parents is None else 101):
        parent = User.objects.filter(phone=demo.phone).first()
        if parent is None:
            parent = User(
                username=demo.phone,
                phone=demo.phone,
                role=User.Role.PARENT,
                iin=demo_iin(demo.birth_date, female=demo.female, serial=7000 + index),
                last_name=demo.last_name,
                first_name=demo.first_name,
                middle_name=demo.middle_name,
            )
            parent.set_unusable_password()  # parents log in by SMS code
            parent.save()
        parents.append(parent)
        for number, kid in enumerate(demo.children, start=1):
            birth_date, applied_at = kid.birth_date(now), kid.applied_at(now)
            iin = demo_iin(birth_date, female=kid.female, serial=8000 + index * 10 + number)
            registered_at = applied_at - dt.timedelta(days=2)
            if not Representation.objects.filter(parent=parent, child__iin=iin).exists():
                representation = child_register(
                    parent=parent,
                    iin=iin,
                    last_name=kid.last_name,
                    first_name=kid.first_name,
                    middle_name=kid.middle_name,
                    birth_date=birth_date,
                    kind=demo.kind,
                    document=demo.document,
                    at=registered_at,
                )
                representation_decide(
                    representation=representation, by=admin, confirm=True, at=registered_at + dt.timedelta(days=1)
                )
            child = Child.objects.get(iin=iin)
            if Application.objects.filter(child=child, city=city).exists():
                continue
            application = application_create(
                parent=parent,
                child=child,
                city=city,
                language=kid.language,
                group_type=GroupType.GENERAL,
                privilege=kid.privilege,
                privilege_document=kid.privilege_document,
                at=applied_at,
            )
            if kid.privilege_status == Application.PrivilegeStatus.CONFIRMED:
                application_privilege_decide(
                    application=application, by=admin, confirm=True, at=applied_at + dt.timedelta(days=3)
                )
            created_applications += 1
    return parents, created_applications


BACKGROUND_NAMES = {
    "male": (
        ("Абенов", "Абенова"),
        ("Бекова", None),
        ("Ермеков", "Ермекова"),
        ("Петров", "Петрова"),
        ("Сейткали", "Сейткали"),
        ("Тулегенов", "Тулегенова"),
        ("Шевченко", "Шевченко"),
        ("Касымов", "Касымова"),
    ),
    "boys": ("Алдияр", "Нурислам", "Артём", "Айсултан", "Михаил", "Ернур", "Тимур", "Данияр"),
    "girls": ("Айлин", "Медина", "София", "Асылым", "Виктория", "Жасмин", "Камила", "Ева"),
    "mothers": ("Гульнара", "Асель", "Наталья", "Мадина", "Жанар", "Светлана", "Айнур", "Дана"),
}


def background_queue_rows(
    *, city_slug: str, count: int = BACKGROUND_APPLICATIONS, now: dt.datetime, seed: int = 2024, serial_base: int = 0
) -> list[dict]:
    """Rows for the queue import: generated mothers (no phone) and their children of the current campaign's cohorts
    (2 to 5 years old), applied some months after the birth, by yesterday at the latest; a few confirmed priority
    and extraordinary rights. Deterministic for a given year of seeding (and `seed`); `serial_base` keeps another
    city's people apart from Temirtau's (their IINs)."""
    import random

    rng = random.Random(seed)  # demo data, not security
    surnames = [pair for pair in BACKGROUND_NAMES["male"] if pair[1]]
    rows = []
    latest = now - dt.timedelta(days=1)
    cohorts = sorted(current_cohorts(now))
    for n in range(count):
        boy = rng.random() < 0.5
        male, female = rng.choice(surnames)
        birth_date = dt.date(rng.choice(cohorts), rng.randint(1, 12), rng.randint(1, 28))
        earliest = dt.datetime.combine(birth_date, dt.time(9), tzinfo=ASTANA) + dt.timedelta(days=30)
        span = max(1, int((latest - earliest).total_seconds() // 60))
        applied_at = earliest + dt.timedelta(minutes=rng.randrange(span))
        applied_at = applied_at.replace(hour=rng.randint(9, 17), second=rng.randint(0, 59))
        if applied_at > latest:
            applied_at = latest - dt.timedelta(minutes=n)
        mother_birth = dt.date(rng.randint(1982, 1999), rng.randint(1, 12), rng.randint(1, 28))
        roll = rng.random()
        privilege, document = "none", ""
        if roll < 0.02:
            privilege, document = "extraordinary", f"Удостоверение № {1000 + n}"
        elif roll < 0.09:
            privilege, document = "priority", f"Справка № {2000 + n}"
        rows.append(
            {
                "applied_at": applied_at.isoformat(),
                "city_slug": city_slug,
                "parent_iin": demo_iin(mother_birth, female=True, serial=serial_base + n * 10),
                "parent_last_name": female,
                "parent_first_name": rng.choice(BACKGROUND_NAMES["mothers"]),
                "child_iin": demo_iin(birth_date, female=not boy, serial=serial_base + n * 10),
                "child_last_name": male if boy else female,
                "child_first_name": rng.choice(BACKGROUND_NAMES["boys" if boy else "girls"]),
                "child_birth_date": birth_date.isoformat(),
                "representation_kind": "parent",
                "representation_document": f"Свидетельство о рождении № {500000 + serial_base + n}",  # noqa: RUF001 (Cyrillic prepositions)
                "language": rng.choices(["kk", "ru", "any"], weights=[5, 4, 1])[0],
                "group_type": "general",
                "privilege": privilege,
                "privilege_document": document,
            }
        )
    return rows


def _seed_queue(city: City, now: dt.datetime, **rows_options) -> int:
    """The background queue (`background_queue_rows` with `rows_options`); a child already in the city's queue once
    (even placed since) is not imported again."""
    from .models import Application
    from .services.queue_import import queue_import

    known = set(Application.objects.filter(city=city).values_list("child__iin", flat=True))
    rows = background_queue_rows(city_slug=city.slug, now=now, **rows_options)
    rows = [row for row in rows if row["child_iin"] not in known]
    if not rows:
        return 0
    return queue_import(rows=rows, at=now, source="seed_demo").applications_created


# --- Offer mode (issue 14): a second demo city ------------------------------------------------------------------
# Ust-Kamenogorsk (Өскемен) allocates its places in priority access by offers: its parents rank kindergartens, and
# the 18:00 run offers each child at the head of the queue the best of its choices that still has a place. Places
# of the 3-year-olds were released on the last working day at 10:00, so the 18:00 run of that day (the demo's
# catch-up, `make demo`) offers them, and the offers wait for an answer until 18:00 of the second working day after.
# Two demo parents log in by SMS code: one child ranked first gets an offer of its first choice, the other one of its
# "any other" place; a background queue with choices of its own takes the other places.

OFFER_CITY = {"slug": "oskemen", "name_ru": "Усть-Каменогорск", "name_kk": "Өскемен", "name_en": "Ust-Kamenogorsk"}
OFFER_KINDERGARTENS = (
    # code, name (ru, kk, en), address (ru, kk)
    (
        "301",
        "Детский сад «Айгөлек»",
        "«Айгөлек» балабақшасы",
        "Aigolek Kindergarten",
        "ул. Казахстан, 62",
        "Қазақстан көшесі, 62",
    ),
    (
        "302",
        "Ясли-сад «Еркетай»",
        "«Еркетай» бөбекжай-бақшасы",
        "Yerketai Nursery and Kindergarten",
        "пр. Независимости, 14",
        "Тәуелсіздік даңғылы, 14",
    ),
    (
        "303",
        "Детский сад «Радуга»",
        "«Радуга» балабақшасы",
        "Raduga Kindergarten",
        "ул. Гоголя, 31",
        "Гоголь көшесі, 31",
    ),
)
OFFER_BACKGROUND_APPLICATIONS = 40
# (kindergarten code, language, places) released on the last working day at 10:00, for the 3-year-olds.
OFFER_RELEASES = (("301", Language.KK, 2), ("302", Language.KK, 1), ("303", Language.RU, 2), ("301", Language.RU, 1))
OFFER_DEMO_PARENTS = [
    DemoParent(
        "+77020000001",
        "Сейтказина",
        "Жанна",
        "Ерболовна",
        dt.date(1991, 4, 8),
        True,
        "parent",
        "Свидетельство о рождении № 0314159",  # noqa: RUF001 (Cyrillic prepositions)
        (DemoChild("Сейтказин", "Алинур", "Даниярович", 3, (1, 4), "kk", 8, 5),),
    ),
    DemoParent(
        "+77020000002",
        "Петренко",
        "Ирина",
        "Олеговна",
        dt.date(1989, 9, 23),
        True,
        "parent",
        "Свидетельство о рождении № 0271828",  # noqa: RUF001 (Cyrillic prepositions)
        (DemoChild("Петренко", "Лев", "Игоревич", 3, (1, 6), "ru", 8, 15),),
    ),
]
# Each demo parent's ranked kindergartens (codes) and the "any other" flag.
OFFER_DEMO_CHOICES = {"+77020000001": (("302", "301"), False), "+77020000002": (("302",), True)}


def _seed_offer_city(admin, now: dt.datetime) -> tuple[City, list, int]:
    """The offer-mode demo city, its kindergartens and groups (every current cohort, both languages), the releases
    of the last working day, the demo parents and a background queue, each application with its choices. Returns
    (city, demo parents, applications created). Nothing when the demo has no current campaign."""
    from .models import Application, ApplicationChoice
    from .services.choices import choices_set

    city, _ = City.objects.update_or_create(
        slug=OFFER_CITY["slug"],
        defaults={k: v for k, v in OFFER_CITY.items() if k != "slug"}
        | {"priority_working_days": 3, "allocation_mode": City.AllocationMode.OFFER, "choices_max": 5},
    )
    kindergartens = {}
    for code, name_ru, name_kk, name_en, address_ru, address_kk in OFFER_KINDERGARTENS:
        kindergartens[code], _ = Kindergarten.objects.update_or_create(
            city=city,
            code=code,
            defaults={
                "name_ru": name_ru,
                "name_kk": name_kk,
                "name_en": name_en,
                "address_ru": f"Усть-Каменогорск, {address_ru}",
                "address_kk": f"Өскемен, {address_kk}",
                "address_en": "",
            },
        )
        for birth_year, age in current_cohorts(now).items():
            for language in (Language.KK, Language.RU):
                Group.objects.update_or_create(
                    kindergarten=kindergartens[code],
                    birth_year=birth_year,
                    language=language,
                    group_type=GroupType.GENERAL,
                    defaults=_group_names(age, language, GroupType.GENERAL),
                )
    parents, created = _seed_demo_parents(city, admin, now, demo_parents=OFFER_DEMO_PARENTS)
    created += _seed_queue(city, now, count=OFFER_BACKGROUND_APPLICATIONS, seed=2025, serial_base=5000)
    # Choices: the demo parents' as written above, the background queue's a few kindergartens in turn, every third
    # also "any other". Set once: a parent's later edit is left alone.
    codes = sorted(kindergartens)
    unchosen = (
        Application.objects.filter(city=city, status=Application.Status.QUEUED, any_other=False)
        .exclude(pk__in=ApplicationChoice.objects.values("application_id"))
        .select_related("parent", "city")
        .order_by("applied_at", "pk")
    )
    for index, application in enumerate(unchosen):
        if application.parent.phone in OFFER_DEMO_CHOICES:
            ranked, any_other = OFFER_DEMO_CHOICES[application.parent.phone]
        else:
            ranked = [codes[(index + n) % len(codes)] for n in range(1 + index % 3)]
            any_other = index % 3 == 0
        choices_set(
            application=application,
            kindergartens=[kindergartens[code] for code in ranked],
            any_other=any_other,
            actor=application.parent,
            at=application.applied_at,
        )
    if not Place.objects.filter(city=city).exists():
        three = {age: year for year, age in current_cohorts(now).items()}[3]
        released_at = at_astana(working_day(now, -1), dt.time(10))
        for code, language, count in OFFER_RELEASES:
            group = kindergartens[code].groups.get(birth_year=three, language=language, group_type=GroupType.GENERAL)
            place_release(group=group, count=count, at=released_at)
    return city, parents, created


def demo_seed(*, now: dt.datetime | None = None) -> SeedResult:
    """Create (or bring up to date) the Temirtau demo, its 2024 history and a campaign counted from `now`; release
    the demo places only when the city has none."""
    now = now or timezone.now()
    with transaction.atomic():
        city, schedule = _seed_city()
        current = _seed_current_schedule(city, now)
        kindergartens = _seed_kindergartens(city, now)
        _seed_shift(schedule, city)
        staff, admin, credentials = _seed_users(kindergartens)
        result = SeedResult(city=city, schedule=schedule, kindergartens=kindergartens, staff=staff, admin=admin)
        result.credentials, result.current_schedule = credentials, current
        fresh = not Place.objects.filter(city=city).exists()
        if fresh:
            result.places_released, result.places_withdrawn = _seed_places(city, kindergartens, staff, now)
            result.places_withdrawn += _close_history(city, staff, now)
            if current is not None:
                released, withdrawn = _seed_current_places(city, kindergartens, staff, now)
                result.places_released += released
                result.places_withdrawn += withdrawn
        result.parents, demo_applications = _seed_demo_parents(city, admin, now)
        result.applications_created = demo_applications + _seed_queue(city, now)
        if fresh and current is not None:
            result.places_taken = _seed_current_claims(city, staff, now)
        if current is not None:
            result.offer_city, result.offer_parents, offer_applications = _seed_offer_city(admin, now)
            result.applications_created += offer_applications
    return result
