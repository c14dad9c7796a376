"""Rules that change after a release (issue 12; DOMAIN.md, Places 6): a calendar override or a kindergarten shift,
added, changed or deleted, re-times what is still ahead, never earlier than the next 18:00 after the change, and
never a published protocol. On PostgreSQL (the set-based statements), through the admin, the registry, the
protocol and the parent's API."""

import datetime as dt

import pytest

from accounts.models import AuditEntry
from placement.models import Place, PlaceEvent, Protocol
from placement.services.daily import run_daily
from placement.services.places import place_release
from placement.services.protocols import protocols_verify
from placement.services.retiming import retime_floor
from schedules.models import CalendarOverride, KindergartenShift
from tests.clock import astana, at
from tests.factories import CohortWindowFactory, referral_for

pytestmark = pytest.mark.django_db

REGISTRY = "/api/v1/registry/"


def admin_url(model, suffix: str = "") -> str:
    return f"/ru/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


def registry_access(api_as, city, place_id: int) -> str | None:
    """The place's access in the public registry at the current clock (None: not listed)."""
    results = api_as().get(REGISTRY, {"city": city.slug, "page_size": "200"}).json()["results"]
    return next((item["access"] for item in results if item["id"] == place_id), None)


def shift_body(window, group, start: str, **extra) -> dict:
    """The admin's kindergarten shift form, as posted."""
    return {
        "window": window.pk,
        "kindergarten": group.kindergarten_id,
        "shifted_start": start,
        "reason_ru": "Ремонт",
        "reason_kk": "Жөндеу",
        "reason_en": "Repairs",
        **extra,
    }


def override_add(client, *, day: dt.date, kind: str = "holiday", act: str = "Постановление 1"):
    return client.post(admin_url(CalendarOverride, "add/"), {"date": day.isoformat(), "kind": kind, "legal_act": act})


def test_a_holiday_declared_after_a_release_extends_its_priority_and_the_next_protocol_explains_it(
    postgres, client, superuser, group, api_as
):
    city = group.kindergarten.city
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 16, 10, 0))  # counted 17, 20, 21 May
    assert place.priority_until == astana(2024, 5, 21, 18, 0)
    run_daily(at=astana(2024, 5, 16, 18, 0))
    published = Protocol.objects.get(city=city, day=dt.date(2024, 5, 16))

    with at(astana(2024, 5, 17, 12, 0)):
        assert override_add(client, day=dt.date(2024, 5, 20)).status_code == 302

    place.refresh_from_db()
    assert place.priority_until == astana(2024, 5, 22, 18, 0)  # counted 17, 21, 22 May
    with at(astana(2024, 5, 21, 18, 30)):
        assert registry_access(api_as, city, place.pk) == "priority"
    with at(astana(2024, 5, 22, 18, 0)):
        assert registry_access(api_as, city, place.pk) == "general"
    event = PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.RETIMED)
    assert event.at == astana(2024, 5, 17, 12, 0) and event.protocol_day == dt.date(2024, 5, 17)
    assert event.by == superuser  # the admin who saved the override: who, when, what
    assert "21.05.2024 18:00" in event.reason and "22.05.2024 18:00" in event.reason and "20.05.2024" in event.reason

    run_daily(at=astana(2024, 5, 22, 18, 0))
    day_17 = Protocol.objects.get(city=city, day=dt.date(2024, 5, 17))
    assert [entry["event"] for entry in day_17.entries] == ["retimed"]
    assert "22.05.2024 18:00" in day_17.entries[0]["reason"]
    moved = PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.TO_GENERAL)
    assert moved.at == astana(2024, 5, 22, 18, 0)
    assert Protocol.objects.get(pk=published.pk).sha256 == published.sha256
    assert protocols_verify() == []


def test_a_kindergarten_shift_added_after_a_release_moves_a_scheduled_place(postgres, client, superuser, group, api_as):
    city = group.kindergarten.city
    window = CohortWindowFactory(schedule__city=city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 27, 11, 0))
    assert place.entered_priority_at == astana(2024, 6, 3, 0, 0)

    with at(astana(2024, 5, 29, 10, 0)):
        response = client.post(admin_url(KindergartenShift, "add/"), shift_body(window, group, "2024-06-10"))
        assert response.status_code == 302
    assert PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.RETIMED).by == superuser

    place.refresh_from_db()
    assert (place.state, place.entered_priority_at, place.priority_until) == (
        Place.State.SCHEDULED,
        astana(2024, 6, 10, 0, 0),
        astana(2024, 6, 12, 18, 0),
    )
    with at(astana(2024, 6, 9, 23, 59)):
        assert registry_access(api_as, city, place.pk) is None
    with at(astana(2024, 6, 10, 0, 0)):
        assert registry_access(api_as, city, place.pk) == "priority"
    event = PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.RETIMED)
    assert "03.06.2024 00:00" in event.reason and "10.06.2024 00:00" in event.reason and "Ремонт" in event.reason
    run_daily(at=astana(2024, 6, 12, 18, 0))
    assert PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.TO_PRIORITY).at == astana(2024, 6, 10, 0, 0)
    assert PlaceEvent.objects.get(place=place, kind=PlaceEvent.Kind.TO_GENERAL).at == astana(2024, 6, 12, 18, 0)
    assert protocols_verify() == []


def test_a_holiday_declared_after_a_referral_was_issued_extends_its_five_working_days(
    postgres, client, superuser, group, api_as
):
    referral = referral_for(group, released=astana(2024, 5, 13, 10, 0), claimed=astana(2024, 5, 14, 10, 0))
    assert referral.valid_until == astana(2024, 5, 21, 18, 0)  # counted 15, 16, 17, 20, 21 May
    with at(astana(2024, 5, 15, 12, 0)):
        assert override_add(client, day=dt.date(2024, 5, 17)).status_code == 302
    referral.refresh_from_db()
    assert referral.valid_until == astana(2024, 5, 22, 18, 0)
    with at(astana(2024, 5, 15, 12, 0)):
        mine = api_as(referral.parent).get("/api/v1/me/referrals/").json()
    assert mine[0]["valid_until"].startswith("2024-05-22T18:00")
    audit = AuditEntry.objects.get(action="referral.retimed", target_id=str(referral.pk))
    assert audit.details["after"] == astana(2024, 5, 22, 18, 0).isoformat()
    assert "17.05.2024" in audit.details["cause"]
    assert audit.actor == superuser


def test_a_passed_deadline_stays_passed_and_what_is_ahead_follows_the_calendar_as_it_now_stands(postgres, group):
    [passed] = place_release(group=group, count=1, at=astana(2024, 5, 23, 10, 0))  # counted 24, 27, 28 May
    [ahead] = place_release(group=group, count=1, at=astana(2024, 5, 27, 8, 0))  # counted 27, 28, 29 May
    with at(astana(2024, 5, 29, 12, 0)):
        CalendarOverride.objects.create(date=dt.date(2024, 5, 27), kind="holiday", legal_act="Act 1")
    passed.refresh_from_db()
    ahead.refresh_from_db()
    assert passed.priority_until == astana(2024, 5, 28, 18, 0)
    assert not PlaceEvent.objects.filter(place=passed, kind=PlaceEvent.Kind.RETIMED).exists()
    assert ahead.priority_until == astana(2024, 5, 30, 18, 0)  # counted 28, 29, 30 May


def test_no_deadline_moves_earlier_than_the_next_18_00_after_the_change(postgres, group):
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 29, 10, 0))  # counted 30, 31 May, 3 June
    assert place.priority_until == astana(2024, 6, 3, 18, 0)
    with at(astana(2024, 6, 2, 10, 0)):  # Sunday: Saturday 1 June declared a working day, after the fact
        CalendarOverride.objects.create(date=dt.date(2024, 6, 1), kind="working", legal_act="Act 2")
    place.refresh_from_db()
    # The rule now says 1 June 18:00, already past: the place goes general at the next 18:00 instead.
    assert place.priority_until == astana(2024, 6, 2, 18, 0)
    assert retime_floor(astana(2024, 6, 2, 18, 0)) == astana(2024, 6, 3, 18, 0)
    assert retime_floor(astana(2024, 6, 2, 17, 59)) == astana(2024, 6, 2, 18, 0)


def test_a_change_that_would_end_priority_before_the_next_18_00_ends_it_at_that_18_00(postgres, group):
    window = CohortWindowFactory(
        schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 10)
    )
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 27, 11, 0))
    assert place.entered_priority_at == astana(2024, 6, 10, 0, 0)
    with at(astana(2024, 6, 5, 15, 0)):  # the shift brings the window back to 3 June, already past
        KindergartenShift.objects.create(
            window=window, kindergarten=group.kindergarten, shifted_start=dt.date(2024, 6, 3), reason="Ранее"
        )
    place.refresh_from_db()
    assert place.entered_priority_at == astana(2024, 6, 5, 15, 0)  # enters now, not in the past
    assert place.priority_until == astana(2024, 6, 10, 18, 0)  # counted 6, 7, 10 June from now


@pytest.mark.parametrize("change", ["override", "shift"])
def test_a_change_whose_re_timing_fails_is_not_kept_either(postgres, group, monkeypatch, change):
    """Saved outside the admin (a shell, a script) as well: the change and its re-timing commit together or not."""
    import placement.signals

    window = CohortWindowFactory(schedule__city=group.kindergarten.city, birth_year=2021)

    def broken(**kwargs):
        raise RuntimeError("re-timing failed")

    monkeypatch.setattr(placement.signals, "calendar_override_retime", broken)
    monkeypatch.setattr(placement.signals, "kindergarten_shift_retime", broken)
    with at(astana(2024, 5, 29, 12, 0)), pytest.raises(RuntimeError):
        if change == "override":
            CalendarOverride.objects.create(date=dt.date(2024, 5, 27), kind="holiday", legal_act="Act 1")
        else:
            KindergartenShift.objects.create(
                window=window, kindergarten=group.kindergarten, shifted_start=dt.date(2024, 6, 3), reason="Ранее"
            )
    assert not CalendarOverride.objects.exists() and not KindergartenShift.objects.exists()


def test_the_override_form_previews_what_it_would_re_time_and_saves_nothing(postgres, client, superuser, group):
    [place] = place_release(group=group, count=2, at=astana(2024, 5, 16, 10, 0))[:1]
    referral_for(group, released=astana(2024, 5, 13, 10, 0), claimed=astana(2024, 5, 14, 10, 0))
    body = {"date": "2024-05-20", "kind": "holiday", "legal_act": "Постановление 1", "preview_dates": "on"}
    with at(astana(2024, 5, 17, 12, 0)):
        response = client.post(admin_url(CalendarOverride, "add/"), body)
    assert response.status_code == 200
    notices = " ".join(str(message) for message in response.context["messages"])
    # The two places released on 16 May (the referral's place is taken, its referral counted apart).
    assert "Мест с новыми сроками: 2" in notices and "22.05.2024 18:00 (2)" in notices
    assert "Направлений с новыми сроками: 1" in notices and "22.05.2024 18:00 (1)" in notices
    assert not CalendarOverride.objects.exists()
    place.refresh_from_db()
    assert place.priority_until == astana(2024, 5, 21, 18, 0)
    assert not PlaceEvent.objects.filter(kind=PlaceEvent.Kind.RETIMED).exists()


def test_the_shift_form_previews_what_it_would_re_time_and_saves_nothing(postgres, client, superuser, group):
    window = CohortWindowFactory(
        schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3)
    )
    place_release(group=group, count=3, at=astana(2024, 5, 27, 11, 0))
    body = shift_body(window, group, "2024-06-10", preview_dates="on")
    with at(astana(2024, 5, 29, 10, 0)):
        response = client.post(admin_url(KindergartenShift, "add/"), body)
    assert response.status_code == 200
    notices = " ".join(str(message) for message in response.context["messages"])
    assert "Мест с новыми сроками: 3" in notices and "12.06.2024 18:00 (3)" in notices
    assert not KindergartenShift.objects.exists()
