"""The benchmarks of issue 6 at small scale: correctness, never speed (bench/README.md; docs/PERFORMANCE.md)."""

import asyncio
import datetime as dt
import hashlib
from urllib.parse import urlsplit

import pytest
from django.db import connection, transaction
from django.test import override_settings

from bench.claim_cpu import batches, run_batch, run_trivial
from bench.claim_storm import storm_floor
from bench.common import storm_audit, storm_http, storm_scenario
from bench.daily_run import daily_floor, daily_snapshot
from bench.mixed import mixed_http, reader_paths
from placement.models import City, Group
from placement.services.daily import run_daily
from placement.services.scale_data import scale_data_generate, scale_places_release
from schedules.calendar import PROTOCOL_MOMENT, add_working_days, at_astana
from tests.conftest import database_url_for_subprocess

AT = at_astana(dt.date(2025, 3, 14), dt.time(12))

CONTENT_SQL = [
    "SELECT c.slug, c.name_kk, k.code, k.name_ru, k.district_kk, k.latitude, k.longitude FROM placement_kindergarten k"
    " JOIN placement_city c ON c.id = k.city_id ORDER BY k.code",
    "SELECT k.code, g.birth_year, g.language, g.group_type FROM placement_group g"
    " JOIN placement_kindergarten k ON k.id = g.kindergarten_id ORDER BY 1, 2, 3, 4",
    "SELECT a.number, a.birth_year, a.language, a.group_type, a.privilege, a.privilege_status, a.queue_category,"
    " a.applied_at, a.status, c.iin, c.birth_date, u.username, u.phone, r.status FROM placement_application a"
    " JOIN accounts_child c ON c.id = a.child_id JOIN accounts_user u ON u.id = a.parent_id"
    " JOIN accounts_representation r ON r.child_id = c.id AND r.parent_id = u.id ORDER BY a.number",
    "SELECT k.code, g.birth_year, g.language, p.state, p.released_at, p.priority_until, e.kind, e.protocol_day"
    " FROM placement_place p JOIN placement_group g ON g.id = p.group_id"
    " JOIN placement_kindergarten k ON k.id = p.kindergarten_id JOIN placement_placeevent e ON e.place_id = p.id"
    " ORDER BY 1, 2, 3, 5, 6",
    "SELECT count(*) FROM authtoken_token t JOIN accounts_user u ON u.id = t.user_id WHERE u.role = 'parent'",
]


def content_digest() -> str:
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        for sql in CONTENT_SQL:
            cursor.execute(sql)
            for row in cursor.fetchall():
                digest.update(repr(row).encode())
    return digest.hexdigest()


class Rollback(Exception):
    pass


def generate_and_digest(seed: int) -> str:
    try:
        with transaction.atomic():
            scale_data_generate(cities=2, kindergartens=12, applications=150, places=60, seed=seed, at=AT)
            digest = content_digest()
            raise Rollback
    except Rollback:
        return digest


def test_scale_data_generator_is_deterministic_for_a_seed(postgres):
    first, again, other = generate_and_digest(7), generate_and_digest(7), generate_and_digest(8)

    assert first == again
    assert first != other


def test_scale_data_gives_every_parent_a_token_and_a_confirmed_representation(postgres):
    summary = scale_data_generate(cities=2, kindergartens=12, applications=150, places=60, seed=3, at=AT)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM placement_application a WHERE NOT EXISTS (SELECT 1 FROM accounts_representation r"
            " WHERE r.child_id = a.child_id AND r.parent_id = a.parent_id AND r.status = 'confirmed')"
            " OR NOT EXISTS (SELECT 1 FROM authtoken_token t WHERE t.user_id = a.parent_id)"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT count(*) FROM placement_placeevent WHERE kind = 'released'")
        assert cursor.fetchone()[0] == summary.places == 60
        cursor.execute("SELECT DISTINCT birth_year FROM placement_application ORDER BY 1")
        assert {row[0] for row in cursor.fetchall()} <= set(range(2019, 2025))


def assert_storm_correct(scenario, outcome) -> None:
    """The storm's audit: one referral per place while parents wait, nothing twice, no 5xx, no other refusal."""
    with connection.cursor() as cursor:
        audit = storm_audit(cursor, scenario, outcome)
    assert audit.pop("referrals") == len(outcome.winners) == min(len(scenario.parents), len(scenario.places))
    assert audit == dict.fromkeys(audit, 0), outcome.errors
    assert set(outcome.statuses) <= {200, 201, 409}


@pytest.mark.parametrize("hot", [0.0, 1.5], ids=["uniform", "hot spots"])
def test_claim_storm_over_http_and_its_raw_sql_floor_give_one_referral_per_place(postgres, live_server, hot):
    now = dt.datetime.now(dt.UTC)
    summary = scale_data_generate(cities=2, kindergartens=10, applications=720, places=0, seed=5, at=now)
    over_http = storm_scenario(city=summary.cities[0], parents=30, places=10, seed=5, at=now, birth_year=2021)
    in_sql = storm_scenario(city=summary.cities[1], parents=30, places=10, seed=6, at=now, birth_year=2021)
    address = urlsplit(live_server.url)

    result = asyncio.run(storm_http(address.hostname, address.port, over_http, clients=8, seed=5, hot=hot))
    floor = storm_floor(database_url_for_subprocess(), in_sql, threads=8, seed=6, hot=hot)

    for scenario, outcome in ((over_http, result), (in_sql, floor)):
        assert_storm_correct(scenario, outcome)


def test_mixed_traffic_readers_beside_a_hot_storm_read_the_registry_and_the_storm_stays_correct(postgres, live_server):
    now = dt.datetime.now(dt.UTC)
    summary = scale_data_generate(cities=1, kindergartens=10, applications=360, places=20, seed=7, at=now)
    scenario = storm_scenario(city=summary.cities[0], parents=30, places=10, seed=7, at=now, birth_year=2021)
    address = urlsplit(live_server.url)

    result = asyncio.run(
        mixed_http(
            address.hostname,
            address.port,
            scenario,
            readers=reader_paths(scenario),
            reader_clients=2,
            requests=6,
            storm_clients=6,
            seed=7,
            hot=1.5,
            max_seconds=120,
        )
    )

    assert_storm_correct(scenario, result.storm)
    for load in (*result.alone.values(), *result.during.values()):
        assert set(load.statuses) == {200}
    assert sum(load.statuses[200] for load in result.alone.values()) == 2 * 6


@pytest.fixture
def _connection_kept_after_requests():
    """A WSGI request's start and end close the database connection when it is in a transaction (the test's own)
    or CONN_MAX_AGE is over; Django's test client disconnects the same signals around its requests."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.mark.usefixtures("_connection_kept_after_requests")
def test_claim_cpu_batches_answer_201_then_409_through_the_wsgi_handler(postgres):
    from django.core.handlers.wsgi import WSGIHandler

    now = dt.datetime.now(dt.UTC)
    summary = scale_data_generate(cities=1, kindergartens=10, applications=360, places=0, seed=8, at=now)
    scenario = storm_scenario(city=summary.cities[0], parents=12, places=4, seed=8, at=now, birth_year=2021)
    [(created, refused)] = batches(scenario, [3])

    _, _, first = run_batch(WSGIHandler(), created)
    _, _, again = run_batch(WSGIHandler(), refused)
    with override_settings(ROOT_URLCONF="bench.urls"):
        _, _, floor = run_trivial(WSGIHandler(), 2)

    assert (first, again, floor) == ({201: 3}, {409: 3}, {200: 2})


def test_daily_run_moves_the_same_places_as_the_raw_sql_floor(postgres):
    release_day = dt.date(2025, 3, 3)
    day = add_working_days(release_day, 3)
    summary = scale_data_generate(
        cities=2, kindergartens=8, applications=0, places=0, seed=2, at=at_astana(release_day, dt.time(8))
    )
    groups = list(Group.objects.values_list("pk", flat=True))
    scale_places_release(
        group_ids=groups, count=80, moments=[at_astana(release_day, dt.time(h)) for h in (9, 12, 17)], seed=2
    )
    run_daily(at=at_astana(day, PROTOCOL_MOMENT) - dt.timedelta(days=1, minutes=-30))
    scale_places_release(group_ids=groups, count=30, moments=[at_astana(day, dt.time(10))], seed=2, salt=1)
    cutoff = at_astana(day, PROTOCOL_MOMENT)
    city_ids = [city.pk for city in summary.cities]

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            moved = daily_floor(cursor, city_ids=city_ids, day=day, cutoff=cutoff, recorded_at=cutoff, read_day=True)
            floor = daily_snapshot(cursor, day=day)
            raise Rollback
    except Rollback:
        pass
    published = run_daily(at=cutoff + dt.timedelta(minutes=30))
    with connection.cursor() as cursor:
        app = daily_snapshot(cursor, day=day)

    assert moved == 80
    assert app == floor
    assert sum(p.entry_count for p in published) == 80 + 30
    assert City.objects.count() == 2


@pytest.fixture(autouse=True)
def _no_sql_echo(settings):
    settings.DEBUG = False


def test_retiming_moves_the_same_rows_as_the_raw_sql_floor_and_each_by_the_rule(postgres):
    from bench.retiming import retiming_app, retiming_floor, retiming_setup
    from placement.models import Offer, Place, Referral
    from placement.models.referrals import referral_valid_until
    from placement.services.offers import offer_valid_until
    from schedules.calendar import calendar_as_stored, priority_ends_at
    from tests.clock import at

    now = at_astana(dt.date(2025, 3, 12), dt.time(12))  # Wednesday
    with at(now):
        city_id, day = retiming_setup(places=40, referrals=10, offers=5, seed=3, now=now)
        assert day == dt.date(2025, 3, 14)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                floor = retiming_floor(cursor, city_id=city_id, at=now)
                raise Rollback
        except Rollback:
            pass
        _seconds, _queries, retimed = retiming_app(day=day)

    assert (floor["places"], floor["referrals"], floor["offers"]) == (40, 10, 5)
    assert retimed == {"places": 40, "referrals": 10, "offers": 5}
    with calendar_as_stored():
        for place in Place.objects.filter(city_id=city_id, state="priority"):
            assert place.priority_until == priority_ends_at(place.entered_priority_at, 3)
        for referral in Referral.objects.filter(status="live"):
            assert referral.valid_until == referral_valid_until(referral.issued_at)
        for offer in Offer.objects.filter(state="live"):
            assert offer.valid_until == offer_valid_until(made_at=offer.made_at, working_days=2)
    assert Place.objects.filter(city_id=city_id, state="priority", priority_until__lte=now).count() == 0
