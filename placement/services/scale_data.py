"""Scale data for the benchmarks of issue 6: cities, kindergartens and groups, parents with tokens, confirmed
representations, queued applications and released places, generated set-based on PostgreSQL.

Deterministic for a seed: every random choice is `hashint8extended(n, salt)` of the row's ordinal `n` in a
`generate_series`, never `random()`, so the same arguments on an empty database give the same rows, ids included
(each INSERT ... SELECT is ordered by `n`). Realistic in shape (DOMAIN.md, Queue; Places and their access):
cohorts 2019-2024, Kazakh and Russian groups, mostly general groups with some special and sanatorium ones, 2%
extraordinary and 8% confirmed priority rights and 3% pending ones, applications over the years since birth.
Places are released as `place_release` releases them outside a summer window (state `priority`, entering priority
access at the release, `priority_until` from `schedules.calendar.priority_ends_at`, computed once per distinct
release moment) with their `released` events. Bench data only: the tokens are derived from the seed.
"""

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from schedules.calendar import WORK_STARTS, add_working_days, astana, at_astana, is_working_day, priority_ends_at
from schedules.calendar import protocol_day as protocol_day_of

from ..models import City
from ..registry_cache import registry_changed

COHORTS = tuple(range(2019, 2025))
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # as application numbers (placement.models.queue)
FIRST_NAMES = [
    "Айдар",
    "Алия",
    "Арман",
    "Дана",
    "Ерлан",
    "Жанар",
    "Мадина",
    "Нурлан",
    "Сауле",
    "Тимур",
    "Анна",
    "Иван",
    "Мария",
    "Олег",
    "Асель",
    "Данияр",
]
LAST_NAMES = [
    "Абенов",
    "Ахметова",
    "Жумабаев",
    "Иванов",
    "Касымова",
    "Нурланов",
    "Петрова",
    "Сейтказы",
    "Смагулов",
    "Тулегенова",
    "Омаров",
    "Ким",
]
DISTRICTS = [
    ("Алматинский", "Алматы", "Almaty"),
    ("Есильский", "Есіл", "Yesil"),
    ("Сарыаркинский", "Сарыарқа", "Saryarka"),
    ("Байконурский", "Байқоңыр", "Baikonur"),
    ("Нура", "Нұра", "Nura"),  # noqa: RUF001
]


def _rand(n: str, salt: int) -> str:
    """SQL for a uniform number in [0, 1) drawn from row `n` and `salt` (the seed is the parameter %(seed)s)."""
    return f"((hashint8extended(({n})::bigint, %(seed)s::bigint * 64 + {salt}) & 2147483647)::float8 / 2147483648.0)"


def _pick(n: str, salt: int, size: str) -> str:
    """SQL for an integer in [0, size) drawn from row `n`."""
    return f"(((hashint8extended(({n})::bigint, %(seed)s::bigint * 64 + {salt}) & 2147483647) %% ({size}))::int)"


def _sql_array(values: Sequence[str]) -> str:
    return "ARRAY[" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + "]"


@dataclass
class ScaleSummary:
    cities: list[City] = field(default_factory=list)
    kindergartens: int = 0
    groups: int = 0
    parents: int = 0
    applications: int = 0
    places: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _require_postgresql() -> None:
    if connection.vendor != "postgresql":
        raise RuntimeError("the scale data generator needs PostgreSQL (set DATABASE_URL)")


def _execute(sql: str, params: dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def scale_data_flush() -> None:
    """Empty every table of people, the queue and placement, restarting ids (bench databases only)."""
    _require_postgresql()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE placement_city, accounts_user, accounts_child, authtoken_token RESTART IDENTITY CASCADE"
        )


def scale_cities_create(*, count: int, prefix: str = "scale") -> list[City]:
    cities = [
        City(
            slug=f"{prefix}-{n:02d}",
            name=f"Город {n}",
            name_ru=f"Город {n}",
            name_kk=f"{n} қаласы",
            name_en=f"City {n}",
        )
        for n in range(1, count + 1)
    ]
    return City.objects.bulk_create(cities)


def scale_kindergartens_create(*, cities: Sequence[City], count: int, seed: int) -> tuple[int, int]:
    """`count` kindergartens spread round-robin over `cities`, each with groups: Kazakh general groups of every
    cohort, Russian ones in 70% of them, a special group in 8% and a sanatorium group in 4%."""
    city_ids = [city.pk for city in cities]
    districts = list(zip(*DISTRICTS, strict=True))
    kindergartens = _execute(
        f"""
        INSERT INTO placement_kindergarten (code, name, name_ru, name_kk, name_en, address, address_ru, address_kk,
            address_en, district, district_ru, district_kk, district_en, phone, email, latitude, longitude, city_id)
        SELECT 'K' || lpad(n::text, 5, '0'), 'Детский сад № ' || n, 'Детский сад № ' || n, n || ' балабақша',
            'Kindergarten No. ' || n, 'ул. Школьная, ' || n, 'ул. Школьная, ' || n, 'Мектеп көшесі, ' || n,
            'Shkolnaya St, ' || n, d.ru, d.ru, d.kk, d.en, '+7 7172 ' || lpad((n %% 1000000)::text, 6, '0'), '',
            round((51.1 + {_rand("n", 1)} * 0.2)::numeric, 6), round((71.3 + {_rand("n", 2)} * 0.3)::numeric, 6),
            (%(cities)s::bigint[])[1 + (n - 1) %% %(city_count)s]
        FROM generate_series(1, %(count)s) AS n
        CROSS JOIN LATERAL (SELECT ({_sql_array(districts[0])})[1 + {_pick("n", 3, len(DISTRICTS))}] AS ru,
            ({_sql_array(districts[1])})[1 + {_pick("n", 3, len(DISTRICTS))}] AS kk,
            ({_sql_array(districts[2])})[1 + {_pick("n", 3, len(DISTRICTS))}] AS en) AS d
        ORDER BY n
        """,  # noqa: S608 - module constants; every value is a parameter
        {"seed": seed, "cities": city_ids, "city_count": len(city_ids), "count": count},
    )
    groups = _execute(
        f"""
        INSERT INTO placement_group (name, name_ru, name_kk, name_en, birth_year, language, group_type,
            kindergarten_id)
        SELECT '', '', '', '', y, s.language, s.group_type, k.id
        FROM placement_kindergarten k
        CROSS JOIN generate_series(%(first)s, %(last)s) AS y
        CROSS JOIN (VALUES (1, 'kk', 'general'), (2, 'ru', 'general'), (3, 'ru', 'special'),
                           (4, 'kk', 'sanatorium')) AS s(kind, language, group_type)
        WHERE k.city_id = ANY(%(cities)s)
          AND (s.kind = 1 OR (s.kind = 2 AND {_rand("substr(k.code, 2)", 4)} < 0.7)
               OR (s.kind = 3 AND {_rand("substr(k.code, 2)", 5)} < 0.08 AND y BETWEEN 2020 AND 2022)
               OR (s.kind = 4 AND {_rand("substr(k.code, 2)", 6)} < 0.04 AND y BETWEEN 2020 AND 2022))
        ORDER BY k.id, y, s.kind
        """,  # noqa: S608 - module constants; every value is a parameter
        {"seed": seed, "cities": city_ids, "first": COHORTS[0], "last": COHORTS[-1]},
    )
    return kindergartens, groups


def scale_queue_create(*, cities: Sequence[City], count: int, seed: int, at: dt.datetime) -> tuple[int, int]:
    """`count` children in the queues of `cities` (round-robin), each with a confirmed legal representative who
    holds an API token; one parent in six has two children. Returns (parents, applications)."""
    if count <= 0:
        return 0, 0
    city_ids = [city.pk for city in cities]
    parents = max(1, count * 5 // 6)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM accounts_user")
        offset = cursor.fetchone()[0]
    params = {
        "seed": seed,
        "at": at,
        "count": count,
        "parents": parents,
        "offset": offset,
        "cities": city_ids,
        "city_count": len(city_ids),
        "first": COHORTS[0],
        "cohorts": len(COHORTS),
    }
    _execute(
        """
        CREATE TEMP TABLE IF NOT EXISTS scale_parent (n int PRIMARY KEY, id bigint);
        CREATE TEMP TABLE IF NOT EXISTS scale_child (n int PRIMARY KEY, id bigint, birth_date date);
        TRUNCATE scale_parent, scale_child;
        """
    )
    # The parents' SMS language is Russian, what the benchmarks' clients ask for (Accept-Language: ru): a request
    # in another language than the stored one rewrites it once, which a real parent pays once, not per claim.
    _execute(
        f"""
        WITH ins AS (
            INSERT INTO accounts_user (password, last_login, is_superuser, username, first_name, last_name, email,
                is_staff, is_active, date_joined, role, kindergarten_id, iin, middle_name, phone, phone_2, language)
            SELECT '!', NULL, false, 'scale-' || (%(offset)s + n),
                ({_sql_array(FIRST_NAMES)})[1 + {_pick("n", 7, len(FIRST_NAMES))}],
                ({_sql_array(LAST_NAMES)})[1 + {_pick("n", 8, len(LAST_NAMES))}], '',
                false, true, %(at)s::timestamptz - interval '1 day' * {_pick("n", 9, 1500)}, 'parent', NULL, NULL, '',
                '+77' || lpad((%(offset)s + n)::text, 9, '0'), '', 'ru'
            FROM generate_series(1, %(parents)s) AS n ORDER BY n RETURNING id)
        INSERT INTO scale_parent SELECT row_number() OVER (ORDER BY id), id FROM ins
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )
    _execute(
        f"""
        WITH src AS (
            SELECT n, make_date(%(first)s + {_pick("n", 10, "%(cohorts)s")}, 1, 1) + {_pick("n", 11, 365)}::int AS born
            FROM generate_series(1, %(count)s) AS n),
        ins AS (
            INSERT INTO accounts_child (iin, last_name, first_name, middle_name, birth_date, created_at)
            SELECT to_char(born, 'YYMMDD') || lpad(((%(offset)s + n) %% 1000000)::text, 6, '0'),
                ({_sql_array(LAST_NAMES)})[1 + {_pick("n", 12, len(LAST_NAMES))}],
                ({_sql_array(FIRST_NAMES)})[1 + {_pick("n", 13, len(FIRST_NAMES))}], '', born, %(at)s
            FROM src ORDER BY n RETURNING id, birth_date)
        INSERT INTO scale_child SELECT row_number() OVER (ORDER BY id), id, birth_date FROM ins
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )
    _execute(
        """
        INSERT INTO accounts_representation (kind, document, status, decision_reason, decided_at, created_at,
            child_id, decided_by_id, parent_id)
        SELECT 'parent', 'Birth certificate No. ' || c.n, 'confirmed', '', %(at)s, %(at)s, c.id, NULL, p.id
        FROM scale_child c JOIN scale_parent p ON p.n = 1 + (c.n - 1) %% %(parents)s
        ORDER BY c.n;
        INSERT INTO authtoken_token (key, created, user_id)
        SELECT md5(%(seed)s || ':' || p.id) || left(md5(p.id || ':' || %(seed)s), 8), %(at)s, p.id
        FROM scale_parent p ORDER BY p.n;
        """,
        params,
    )
    number = " || ".join(
        f"substr('{ALPHABET}', 1 + ((h.v >> {5 * i}) & 31)::int, 1)" + (" || '-'" if i in (3, 7) else "")
        for i in range(12)
    )
    applications = _execute(
        f"""
        INSERT INTO placement_application (number, birth_year, language, group_type, privilege, privilege_document,
            privilege_status, privilege_reason, queue_category, applied_at, status, status_changed_at, held_until,
            child_id, city_id, parent_id)
        SELECT {number}, extract(year FROM c.birth_date)::int,
            CASE WHEN r.lang < 0.55 THEN 'kk' WHEN r.lang < 0.95 THEN 'ru' ELSE 'any' END,
            CASE WHEN r.kind < 0.955 THEN 'general' WHEN r.kind < 0.985 THEN 'special' ELSE 'sanatorium' END,
            CASE WHEN r.priv < 0.02 THEN 'extraordinary' WHEN r.priv < 0.13 THEN 'priority' ELSE 'none' END,
            CASE WHEN r.priv < 0.13 THEN 'Certificate No. ' || c.n ELSE '' END,
            CASE WHEN r.priv < 0.10 THEN 'confirmed' WHEN r.priv < 0.13 THEN 'pending' ELSE 'none' END, '',
            CASE WHEN r.priv < 0.02 THEN 0 WHEN r.priv < 0.10 THEN 1 ELSE 2 END,
            t.applied_at, CASE WHEN r.gone < 0.02 THEN 'withdrawn' ELSE 'queued' END, t.applied_at, NULL,
            c.id, (%(cities)s::bigint[])[1 + (c.n - 1) %% %(city_count)s], p.id
        FROM scale_child c
        JOIN scale_parent p ON p.n = 1 + (c.n - 1) %% %(parents)s
        CROSS JOIN LATERAL (SELECT hashint8extended(c.n, %(seed)s::bigint * 64 + 14) AS v) AS h
        CROSS JOIN LATERAL (SELECT {_rand("c.n", 15)} AS lang, {_rand("c.n", 16)} AS kind, {_rand("c.n", 17)} AS priv,
            {_rand("c.n", 18)} AS gone, {_rand("c.n", 19)} AS wait) AS r
        -- Applied between a month after birth and now, over the years; earlier applicants are more common.
        CROSS JOIN LATERAL (SELECT least(%(at)s::timestamptz - interval '1 hour',
            (c.birth_date + 30)::timestamptz + interval '9 hours'
            + (greatest(%(at)s::timestamptz - (c.birth_date + 30)::timestamptz, interval '1 day')
               * (r.wait * r.wait))) AS applied_at) AS t
        ORDER BY c.n
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )
    return parents, applications


def scale_choices_create(*, cities: Sequence[City], choices: int, seed: int, any_other: float = 0.4) -> int:
    """Offer mode's choices (issue 14) for every queued application of `cities`: up to `choices` distinct ranked
    kindergartens of its city with a group of its cohort, language ("any": the Kazakh groups, which every
    kindergarten has) and group type, skewed as parents are (most want the same few kindergartens: a kindergarten's
    draw is the cube of a uniform number over the matching ones in id order, so the first tenth takes 46% of the
    draws), plus "any other" for the share `any_other`. Each application draws 4 x `choices` times and keeps its
    first `choices` distinct kindergartens in draw order. Set-based; returns the choices written."""
    if choices <= 0:
        return 0
    city_ids = [city.pk for city in cities]
    params = {"seed": seed, "cities": city_ids, "choices": choices, "draws": 4 * choices, "any_other": any_other}
    written = _execute(
        f"""
        WITH opts AS (
            SELECT k.city_id, g.birth_year, g.language, g.group_type, array_agg(DISTINCT k.id ORDER BY k.id) AS ks
            FROM placement_group g JOIN placement_kindergarten k ON k.id = g.kindergarten_id
            WHERE k.city_id = ANY(%(cities)s) GROUP BY 1, 2, 3, 4),
        a AS (
            SELECT a.id, a.city_id, a.birth_year,
                CASE WHEN a.language = 'any' THEN 'kk' ELSE a.language END AS language, a.group_type
            FROM placement_application a WHERE a.city_id = ANY(%(cities)s) AND a.status = 'queued'),
        draws AS (
            SELECT a.id AS application_id, j,
                o.ks[1 + floor(cardinality(o.ks) * power({_rand("a.id * 64 + j", 22)}, 3))::int] AS kindergarten_id
            FROM a JOIN opts o ON o.city_id = a.city_id AND o.birth_year = a.birth_year AND o.language = a.language
                AND o.group_type = a.group_type
            CROSS JOIN generate_series(1, %(draws)s) AS j),
        firsts AS (SELECT application_id, kindergarten_id, min(j) AS j FROM draws GROUP BY 1, 2),
        ranked AS (
            SELECT application_id, kindergarten_id, row_number() OVER (PARTITION BY application_id ORDER BY j) AS rank
            FROM firsts)
        INSERT INTO placement_applicationchoice (application_id, kindergarten_id, rank)
        SELECT application_id, kindergarten_id, rank FROM ranked WHERE rank <= %(choices)s
        ORDER BY application_id, rank
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )
    _execute(
        f"""
        UPDATE placement_application a SET any_other = {_rand("a.id", 23)} < %(any_other)s
        WHERE a.city_id = ANY(%(cities)s) AND a.status = 'queued'
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )
    return written


def release_moments(*, at: dt.datetime, days: int) -> list[dt.datetime]:
    """Release moments on the hour, 09:00-17:00 Astana time, of the `days` working days up to `at` (before it)."""
    moments = []
    day = astana(at).date()
    if not is_working_day(day):
        day = add_working_days(day, -1) if days else day
    for _ in range(days):
        for hour in range(WORK_STARTS.hour, 18):
            moment = at_astana(day, dt.time(hour))
            if moment < at:
                moments.append(moment)
        day = add_working_days(day, -1)
    return sorted(moments)


def scale_places_release(
    *, group_ids: Sequence[int], count: int, moments: Sequence[dt.datetime], seed: int, salt: int = 0
) -> int:
    """Release `count` places into the groups `group_ids` (spread over their cities round-robin, then uniformly
    over each city's groups) at `moments`, as `place_release` does outside a summer window, with their events.
    `priority_until` and the protocol day are computed once per (moment, city's working days), never per row."""
    if count <= 0 or not group_ids:
        return 0
    working_days = sorted(
        set(City.objects.filter(kindergartens__groups__in=group_ids).values_list("priority_working_days", flat=True))
    )
    rows = [
        (i, wd, moment, priority_ends_at(moment, wd), protocol_day_of(moment))
        for i, moment in enumerate(moments)
        for wd in working_days
    ]
    params = {
        "seed": seed + salt * 7919,
        "count": count,
        "groups": list(group_ids),
        "m_i": [row[0] for row in rows],
        "m_wd": [row[1] for row in rows],
        "m_at": [row[2] for row in rows],
        "m_until": [row[3] for row in rows],
        "m_day": [row[4] for row in rows],
        "moments": len(moments),
    }
    return _execute(
        f"""
        WITH g AS (
            SELECT g.id, g.kindergarten_id, k.city_id, g.birth_year, g.language, g.group_type,
                   row_number() OVER (PARTITION BY k.city_id ORDER BY g.id) - 1 AS i
            FROM placement_group g JOIN placement_kindergarten k ON k.id = g.kindergarten_id
            WHERE g.id = ANY(%(groups)s)),
        c AS (SELECT g.city_id, count(*) AS size, row_number() OVER (ORDER BY g.city_id) - 1 AS ci,
                     max(city.priority_working_days) AS wd
              FROM g JOIN placement_city city ON city.id = g.city_id GROUP BY g.city_id),
        m AS (SELECT * FROM unnest(%(m_i)s::int[], %(m_wd)s::int[], %(m_at)s::timestamptz[],
                                   %(m_until)s::timestamptz[], %(m_day)s::date[]) AS m(i, wd, at, until, day)),
        src AS (
            SELECT n, g.id AS group_id, g.kindergarten_id, g.city_id, g.birth_year, g.language, g.group_type,
                   m.at, m.until, m.day
            FROM generate_series(0, %(count)s - 1) AS n
            JOIN c ON c.ci = n %% (SELECT count(*) FROM c)
            JOIN g ON g.city_id = c.city_id AND g.i = {_pick("n", 20, "c.size")}
            JOIN m ON m.wd = c.wd AND m.i = {_pick("n", 21, "%(moments)s")}),
        ins AS (
            INSERT INTO placement_place (state, released_at, entered_priority_at, priority_until, general_since,
                withdrawn_at, withdraw_reason, city_id, group_id, kindergarten_id)
            SELECT 'priority', at, at, until, NULL, NULL, '', city_id, group_id, kindergarten_id FROM src ORDER BY n
            RETURNING id, group_id, released_at)
        INSERT INTO placement_placeevent (kind, at, protocol_day, recorded_at, reason, birth_year, language,
            group_type, access, by_id, city_id, kindergarten_id, place_id)
        SELECT 'released', ins.released_at, m.day, ins.released_at, '', g.birth_year, g.language, g.group_type,
               'priority', NULL, g.city_id, g.kindergarten_id, ins.id
        FROM ins JOIN g ON g.id = ins.group_id JOIN c ON c.city_id = g.city_id
        JOIN m ON m.wd = c.wd AND m.at = ins.released_at
        ORDER BY ins.id
        """,  # noqa: S608 - module constants; every value is a parameter
        params,
    )


def scale_data_generate(
    *,
    cities: int,
    kindergartens: int,
    applications: int,
    places: int,
    seed: int,
    at: dt.datetime | None = None,
    release_days: int = 6,
    prefix: str = "scale",
) -> ScaleSummary:
    """Generate a whole data set (see the module's docstring); each step is one transaction of set-based SQL."""
    _require_postgresql()
    at = at or timezone.now()
    summary = ScaleSummary()

    def step(name: str, function):
        started = time.perf_counter()
        with transaction.atomic():
            result = function()
        summary.seconds[name] = time.perf_counter() - started
        return result

    summary.cities = step("cities", lambda: scale_cities_create(count=cities, prefix=prefix))
    summary.kindergartens, summary.groups = step(
        "kindergartens and groups",
        lambda: scale_kindergartens_create(cities=summary.cities, count=kindergartens, seed=seed),
    )
    summary.parents, summary.applications = step(
        "parents, children, representations, tokens, applications",
        lambda: scale_queue_create(cities=summary.cities, count=applications, seed=seed, at=at),
    )
    group_ids = list(
        City.objects.filter(pk__in=[c.pk for c in summary.cities]).values_list("kindergartens__groups", flat=True)
    )
    moments = release_moments(at=at, days=release_days)
    summary.places = step(
        "places and their events",
        lambda: scale_places_release(group_ids=[g for g in group_ids if g], count=places, moments=moments, seed=seed),
    )
    # The places and events were written in raw SQL: tell the registry's cache, as place_release does.
    registry_changed(city_ids=[c.pk for c in summary.cities], city_list=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    summary.seconds["analyze"] = time.perf_counter() - started
    return summary
