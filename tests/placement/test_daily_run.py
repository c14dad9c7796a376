import datetime as dt
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from placement.models import Place, PlaceEvent, Protocol
from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from placement.services.protocols import protocols_verify
from schedules.calendar import ASTANA
from tests.clock import astana
from tests.conftest import run_together
from tests.factories import CohortWindowFactory, GroupFactory

pytestmark = pytest.mark.django_db


@contextmanager
def rewriting_history():
    """Act as a database superuser who switches triggers off (replica role) to rewrite a published day."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET session_replication_role = DEFAULT")


def test_run_moves_a_may_release_to_general_at_18_00_on_may_6(group, city):
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 6, 17, 59))
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY

    run_daily(at=astana(2024, 5, 6, 18, 0))
    place.refresh_from_db()
    assert place.state == Place.State.GENERAL
    assert place.general_since == astana(2024, 5, 6, 18, 0)
    protocol = Protocol.objects.get(city=city, day=dt.date(2024, 5, 6))
    assert [(e["event"], e["at"], e["access"]) for e in protocol.entries] == [
        ("to_general", "2024-05-06T18:00:00+05:00", "general")
    ]


def test_summer_window_places_enter_priority_on_june_3_and_go_general_on_june_5_at_18(group, city):
    CohortWindowFactory(schedule__city=city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    place_release(group=group, count=2, at=astana(2024, 5, 28, 11, 0))
    run_daily(at=astana(2024, 6, 3, 18, 0))
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.PRIORITY}
    june_3 = Protocol.objects.get(city=city, day=dt.date(2024, 6, 3))
    assert [(e["event"], e["at"]) for e in june_3.entries] == [("to_priority", "2024-06-03T00:00:00+05:00")] * 2

    run_daily(at=astana(2024, 6, 5, 18, 0))
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.GENERAL}
    assert Protocol.objects.get(city=city, day=dt.date(2024, 6, 5)).entry_count == 2


def test_running_twice_for_one_day_changes_nothing_and_publishes_once(group, city):
    place_release(group=group, count=3, at=astana(2024, 5, 2, 10, 0))
    first = run_daily(at=astana(2024, 5, 6, 18, 0))
    events = PlaceEvent.objects.count()
    second = run_daily(at=astana(2024, 5, 6, 18, 5))
    assert [p.day for p in first] == [dt.date(2024, 5, 2) + dt.timedelta(days=n) for n in range(5)]
    assert second == []
    assert PlaceEvent.objects.count() == events
    assert Protocol.objects.filter(city=city, day=dt.date(2024, 5, 6)).count() == 1


def test_a_three_day_outage_is_caught_up_in_order_with_the_rules_times(group, city):
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 3, 18, 0))
    # Down from Saturday to Tuesday: the run of Tuesday 18:00 publishes May 4, 5, 6 and 7 in order.
    published = run_daily(at=astana(2024, 5, 7, 18, 30))
    assert [p.day for p in published] == [
        dt.date(2024, 5, 4),
        dt.date(2024, 5, 5),
        dt.date(2024, 5, 6),
        dt.date(2024, 5, 7),
    ]
    to_general = PlaceEvent.objects.get(kind=PlaceEvent.Kind.TO_GENERAL)
    assert to_general.at == astana(2024, 5, 6, 18, 0)  # the rule's time, not the catch-up's
    assert to_general.protocol_day == dt.date(2024, 5, 6)
    assert to_general.recorded_at > to_general.at
    assert [p.previous_sha256 for p in published[1:]] == [p.sha256 for p in published[:-1]]
    assert protocols_verify() == []


def test_protocol_records_every_event_of_the_day_and_no_personal_data(group, city):
    [kept, withdrawn] = place_release(group=group, count=2, at=astana(2024, 5, 2, 10, 0))
    place_withdraw(place=withdrawn, reason="Ремонт", at=astana(2024, 5, 2, 15, 0))
    [protocol] = run_daily(at=astana(2024, 5, 2, 18, 0))
    assert [(e["event"], e["place"], e["reason"]) for e in protocol.entries] == [
        ("released", kept.pk, ""),
        ("released", withdrawn.pk, ""),
        ("withdrawn", withdrawn.pk, "Ремонт"),
    ]
    entry = protocol.entries[0]
    assert set(entry) == {
        "at",
        "recorded_at",
        "event",
        "place",
        "kindergarten",
        "birth_year",
        "language",
        "group_type",
        "access",
        "reason",
    }
    assert entry["kindergarten"]["code"] == group.kindergarten.code


def test_a_city_with_no_events_publishes_nothing(city):
    assert run_daily(at=astana(2024, 5, 6, 18, 0)) == []


def test_the_chain_continues_through_empty_days(group, city):
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    published = run_daily(at=astana(2024, 5, 10, 18, 0))
    assert len(published) == 9
    assert [p.entry_count for p in published] == [1, 0, 0, 0, 1, 0, 0, 0, 0]
    assert protocols_verify() == []


def test_a_tampered_protocol_is_caught_naming_the_first_bad_day(group, city):
    place_release(group=group, count=2, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 8, 18, 0))
    call_command("verify_protocols", stdout=StringIO())

    # Someone rewrites history with SQL: one entry of May 6 gets another time.
    tampered = Protocol.objects.get(city=city, day=dt.date(2024, 5, 6))
    entries = tampered.entries
    entries[0]["at"] = "2024-05-06T17:00:00+05:00"
    with rewriting_history():
        Protocol.objects.filter(pk=tampered.pk).update(entries=entries)

    problems = protocols_verify(city=city)
    assert [(p.day, p.why) for p in problems] == [(dt.date(2024, 5, 6), "its content does not match its SHA-256")]
    with pytest.raises(CommandError, match="2024-05-06") as raised:
        call_command("verify_protocols", "--city", city.slug, stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 1


def test_a_rehashed_forgery_breaks_the_next_days_link(group, city):
    from placement.services.protocols import protocol_digest

    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 6, 18, 0))
    forged = Protocol.objects.get(city=city, day=dt.date(2024, 5, 3))
    entries = forged.entries = [{"forged": True}]
    digest = protocol_digest(forged)
    with rewriting_history():
        Protocol.objects.filter(pk=forged.pk).update(entries=entries, sha256=digest)
    assert [p.day for p in protocols_verify(city=city)] == [dt.date(2024, 5, 4)]


def test_a_deleted_day_is_caught_as_a_gap(group, city):
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 6, 18, 0))
    with rewriting_history():
        Protocol.objects.filter(city=city, day=dt.date(2024, 5, 4))._raw_delete(connection.alias)
    problems = protocols_verify(city=city)
    assert [(p.day, p.why) for p in problems] == [(dt.date(2024, 5, 4), "missing: the chain has a gap")]


def test_published_protocols_refuse_to_change(group, city):
    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    [protocol] = run_daily(at=astana(2024, 5, 2, 18, 0))
    protocol.entries = []
    with pytest.raises(ValueError, match="never changes"):
        protocol.save()


def test_run_protocol_command_runs_the_same_service_for_a_given_moment(group, city):
    CohortWindowFactory(schedule__city=city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    place_release(group=group, count=4, at=astana(2024, 5, 28, 11, 0))
    out = StringIO()
    call_command("run_protocol", "--at", "2024-06-05T18:00+05:00", "--city", city.slug, stdout=out)
    assert set(Place.objects.values_list("state", flat=True)) == {Place.State.GENERAL}
    assert Protocol.objects.filter(city=city).count() == 9  # May 28 .. June 5
    assert "9 protocol(s) published" in out.getvalue()
    call_command("verify_protocols", stdout=StringIO())


@pytest.mark.parametrize("arguments", [["--at", "yesterday"], ["--city", "atlantis"]])
def test_run_protocol_command_rejects_bad_arguments(arguments):
    with pytest.raises(CommandError):
        call_command("run_protocol", *arguments, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_publish_one_protocol_per_day(postgres):
    group = GroupFactory(birth_year=2021)
    city = group.kindergarten.city
    place_release(group=group, count=50, at=astana(2024, 5, 2, 10, 0))
    results = run_together(*[lambda: run_daily(at=astana(2024, 5, 8, 18, 0))] * 4)
    assert [r for r in results if isinstance(r, Exception)] == []
    published_days = sorted(p.day for run in results for p in run)
    assert published_days == [dt.date(2024, 5, 2) + dt.timedelta(days=n) for n in range(7)]  # each day once
    assert Protocol.objects.filter(city=city).count() == 7
    assert PlaceEvent.objects.filter(kind=PlaceEvent.Kind.TO_GENERAL).count() == 50
    assert protocols_verify() == []


@pytest.mark.parametrize("table", ["placement_protocol", "placement_placeevent", "accounts_auditentry"])
def test_the_database_refuses_to_rewrite_protocols_and_the_chronology(postgres, group, table):
    from django.db import DatabaseError, transaction

    from accounts.models import AuditEntry
    from accounts.services.audit import audit_record

    place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 2, 18, 0))
    audit_record(actor=None, action="test.record")
    for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert Protocol.objects.count() == 1
    assert PlaceEvent.objects.count() == 1
    assert AuditEntry.objects.filter(action="test.record").count() == 1


def test_protocol_text_is_encoded_once_and_equals_the_canonical_json_of_each_event_the_obvious_way(group, city):
    """The run writes each entry's canonical JSON directly (times and texts encoded once per distinct value); it
    must be exactly what encoding the events one by one gives, whatever the names, reasons and UTC offsets."""
    import hashlib
    import json

    from placement.services.protocols import canonical_json, protocol_entries_json

    kindergarten = group.kindergarten
    kindergarten.name_ru = 'Детский сад "Ақ\\жол"\t№5'
    kindergarten.name_kk = "«Ақбота» балабақшасы \u2028 😀"
    kindergarten.name_en = None
    kindergarten.save()
    # 29.02.2024 was still UTC+6 in Almaty (tzdata 2024a), with microseconds; the rest share their times.
    [first, *others] = place_release(group=group, count=3, at=astana(2024, 2, 29, 10, 0, 0, 123456))
    place_withdraw(place=first, reason='Ремонт: "крыша"\n\\ \x01 ok', at=astana(2024, 2, 29, 15, 0))
    place_withdraw(place=others[0], reason="Ремонт", at=astana(2024, 2, 29, 15, 0))
    [protocol] = run_daily(at=astana(2024, 2, 29, 18, 0))

    events = PlaceEvent.objects.filter(city=city, protocol_day=dt.date(2024, 2, 29)).order_by("at", "pk")
    expected = [
        {
            "at": e.at.astimezone(ASTANA).isoformat(),
            "recorded_at": e.recorded_at.astimezone(ASTANA).isoformat(),
            "event": e.kind,
            "place": e.place_id,
            "kindergarten": {
                "id": kindergarten.pk,
                "code": kindergarten.code,
                "name": {"ru": kindergarten.name_ru, "kk": kindergarten.name_kk, "en": ""},
            },
            "birth_year": e.birth_year,
            "language": e.language,
            "group_type": e.group_type,
            "access": e.access,
            "reason": e.reason,
        }
        for e in events
    ]
    assert len(expected) == 5 and expected[0]["at"] == "2024-02-29T10:00:00.123456+06:00"
    text, count = protocol_entries_json(city=city, day=dt.date(2024, 2, 29))
    canonical = json.dumps(expected, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert (text, count) == (canonical, 5)
    stored = Protocol.objects.get(pk=protocol.pk)
    assert stored.entries == expected == protocol.entries
    assert canonical_json(stored.entries) == text
    document = {"city": city.slug, "day": "2024-02-29", "previous_sha256": "0" * 64, "entries": expected}
    digest = hashlib.sha256(
        json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    assert stored.sha256 == protocol.sha256 == digest
    assert protocols_verify() == []
