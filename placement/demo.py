"""Demo data for a first local run (`manage.py seed_demo`): Temirtau and its 2024 summer schedule (the seed notice),
and demo parents with children in the queue.

Everything is created with get_or_create/update_or_create, so seeding twice changes nothing; places are released
(through the real services, with `at` in the past) only when the city has no places yet.
"""

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from schedules.calendar import ASTANA
from schedules.models import CohortWindow, KindergartenShift, SummerSchedule

from .models import City, Group, GroupType, Kindergarten, Language, Place
from .services.places import place_release, place_withdraw

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

# Group names by cohort (2024 ages): nursery, junior, middle, senior.
GROUP_NAMES = {
    2022: ("Ясельная группа", "Бөбекжай тобы", "Nursery group"),
    2021: ("Младшая группа", "Кіші топ", "Junior group"),
    2020: ("Средняя группа", "Ортаңғы топ", "Middle group"),
    2019: ("Старшая группа", "Ересек топ", "Senior group"),
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


@dataclass
class SeedResult:
    city: City
    schedule: SummerSchedule
    kindergartens: list[Kindergarten]
    staff: list
    admin: object
    places_released: int = 0
    places_withdrawn: int = 0
    credentials: list[tuple[str, str, str]] = field(default_factory=list)  # (username, password, who)
    parents: list = field(default_factory=list)  # the demo parents, who log in by SMS code
    applications_created: int = 0


def _group_names(birth_year: int, language: str, group_type: str) -> dict[str, str]:
    base = GROUP_NAMES[birth_year]
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


def _seed_kindergartens(city: City) -> list[Kindergarten]:
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
        groups = [(year, language, GroupType.GENERAL) for year in COHORTS for language in (Language.KK, Language.RU)]
        for birth_year, language, group_type in [*groups, *demo.extra_groups]:
            Group.objects.update_or_create(
                kindergarten=kindergarten,
                birth_year=birth_year,
                language=language,
                group_type=group_type,
                defaults=_group_names(birth_year, language, group_type),
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

    # Live places for whoever opens the demo today: six released a week ago (general by now), six today.
    week_ago = now - dt.timedelta(days=7)
    for kindergarten, (birth_year, language), at in [
        (kindergartens[0], (2021, Language.KK), week_ago),
        (kindergartens[3], (2020, Language.RU), week_ago),
        (kindergartens[5], (2022, Language.KK), week_ago),
        (kindergartens[1], (2021, Language.RU), now),
        (kindergartens[7], (2019, Language.KK), now),
        (kindergartens[9], (2022, Language.RU), now),
    ]:
        group = kindergarten.groups.get(birth_year=birth_year, language=language, group_type=GroupType.GENERAL)
        released += len(place_release(group=group, count=2, by=by_kindergarten[kindergarten.pk], at=at))
    return released, withdrawn


# --- Demo parents and the queue (issue 4) ---------------------------------------------------------------------------
# Six parents who log in by SMS code (the console backend prints it), each a CONFIRMED legal representative of one
# or two children, with applications in Temirtau in every cohort: one confirmed priority right, one extraordinary
# right still PENDING (an admin confirms it and sees the position change), the rest general. Around them, a
# background queue of anonymous-ish applications (generated people, no phones) so that positions look real.

DEMO_PARENT_LOGIN_PHONE = "+77010000001"
BACKGROUND_APPLICATIONS = 200


@dataclass(frozen=True)
class DemoChild:
    last_name: str
    first_name: str
    middle_name: str
    birth_date: dt.date
    language: str
    applied_at: dt.datetime
    privilege: str = "none"
    privilege_status: str = "none"  # "confirmed" or "pending" with a privilege
    privilege_document: str = ""
    female: bool = False


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
            DemoChild("Сапаров", "Арман", "Ерланович", dt.date(2021, 4, 12), "kk", astana_at(2021, 5, 20, 10, 15)),
            DemoChild(
                "Сапарова", "Аяна", "Ерлановна", dt.date(2019, 9, 3), "kk", astana_at(2021, 2, 10, 9, 40), female=True
            ),
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
                dt.date(2020, 8, 17),
                "ru",
                astana_at(2022, 3, 14, 11, 40),
                privilege="priority",
                privilege_status="confirmed",
                privilege_document="Справка о многодетной семье № 112 от 01.03.2022",  # noqa: RUF001 (Cyrillic prepositions)
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
                dt.date(2022, 1, 25),
                "kk",
                astana_at(2024, 2, 5, 9, 20),
                privilege="extraordinary",
                privilege_status="pending",
                female=True,
                privilege_document="Удостоверение военнослужащего № 5521 от 10.01.2024",
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
            DemoChild("Ким", "Даниил", "Андреевич", dt.date(2021, 11, 30), "ru", astana_at(2023, 1, 16, 14, 5)),
            DemoChild(
                "Ким", "Алиса", "Андреевна", dt.date(2019, 6, 11), "any", astana_at(2021, 8, 2, 16, 30), female=True
            ),
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
        "Постановление акимата об опеке № 318 от 14.09.2022",  # noqa: RUF001 (Cyrillic prepositions)
        (DemoChild("Нургалиев", "Алихан", "Русланович", dt.date(2020, 3, 5), "any", astana_at(2022, 10, 10, 10, 10)),),
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
        (
            DemoChild(
                "Омарова", "Амина", "Тимуровна", dt.date(2022, 7, 19), "ru", astana_at(2024, 6, 3, 12, 0), female=True
            ),
        ),
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


def _seed_demo_parents(city: City, admin) -> tuple[list, int]:
    """The six demo parents; a child that already has an application in the city (even withdrawn) gets none."""
    from accounts.models import Child, Representation
    from accounts.services.people import child_register, representation_decide

    from .models import Application
    from .services.applications import application_create, application_privilege_decide

    User = get_user_model()
    parents, created_applications = [], 0
    for index, demo in enumerate(DEMO_PARENTS, start=1):
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
            iin = demo_iin(kid.birth_date, female=kid.female, serial=8000 + index * 10 + number)
            registered_at = kid.applied_at - dt.timedelta(days=2)
            if not Representation.objects.filter(parent=parent, child__iin=iin).exists():
                representation = child_register(
                    parent=parent,
                    iin=iin,
                    last_name=kid.last_name,
                    first_name=kid.first_name,
                    middle_name=kid.middle_name,
                    birth_date=kid.birth_date,
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
                at=kid.applied_at,
            )
            if kid.privilege_status == Application.PrivilegeStatus.CONFIRMED:
                application_privilege_decide(
                    application=application, by=admin, confirm=True, at=kid.applied_at + dt.timedelta(days=3)
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


def background_queue_rows(*, city_slug: str, count: int = BACKGROUND_APPLICATIONS, now: dt.datetime) -> list[dict]:
    """Rows for the queue import: generated mothers (no phone) and their children born 2019-2022, applied some
    months after the birth, by 2024 at the latest; a few confirmed priority and extraordinary rights. Deterministic."""
    import random

    rng = random.Random(2024)  # demo data, not security
    surnames = [pair for pair in BACKGROUND_NAMES["male"] if pair[1]]
    rows = []
    latest = min(now, astana_at(2024, 12, 30, 17, 0))
    for n in range(count):
        boy = rng.random() < 0.5
        male, female = rng.choice(surnames)
        birth_date = dt.date(rng.choice(COHORTS), rng.randint(1, 12), rng.randint(1, 28))
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
                "parent_iin": demo_iin(mother_birth, female=True, serial=n * 10),
                "parent_last_name": female,
                "parent_first_name": rng.choice(BACKGROUND_NAMES["mothers"]),
                "child_iin": demo_iin(birth_date, female=not boy, serial=n * 10),
                "child_last_name": male if boy else female,
                "child_first_name": rng.choice(BACKGROUND_NAMES["boys" if boy else "girls"]),
                "child_birth_date": birth_date.isoformat(),
                "representation_kind": "parent",
                "representation_document": f"Свидетельство о рождении № {500000 + n}",  # noqa: RUF001 (Cyrillic prepositions)
                "language": rng.choices(["kk", "ru", "any"], weights=[5, 4, 1])[0],
                "group_type": "general",
                "privilege": privilege,
                "privilege_document": document,
            }
        )
    return rows


def _seed_queue(city: City, now: dt.datetime) -> int:
    from .services.queue_import import queue_import

    result = queue_import(rows=background_queue_rows(city_slug=city.slug, now=now), at=now, source="seed_demo")
    return result.applications_created


def demo_seed(*, now: dt.datetime | None = None) -> SeedResult:
    """Create (or bring up to date) the Temirtau demo; release the demo places only when the city has none."""
    now = now or timezone.now()
    with transaction.atomic():
        city, schedule = _seed_city()
        kindergartens = _seed_kindergartens(city)
        _seed_shift(schedule, city)
        staff, admin, credentials = _seed_users(kindergartens)
        result = SeedResult(
            city=city, schedule=schedule, kindergartens=kindergartens, staff=staff, admin=admin, credentials=credentials
        )
        if not Place.objects.filter(city=city).exists():
            result.places_released, result.places_withdrawn = _seed_places(city, kindergartens, staff, now)
        result.parents, demo_applications = _seed_demo_parents(city, admin)
        result.applications_created = demo_applications + _seed_queue(city, now)
    return result
