"""Django admin of placement and schedules: every page opens in ru and kk, computed dates are shown, the chronology
is read-only (issue 3, admins)."""

import datetime as dt

import pytest
from django.utils import timezone

from placement.models import City, Group, Kindergarten, Place, PlaceEvent, Protocol
from placement.services.places import place_release
from schedules.models import CalendarOverride, CohortWindow, KindergartenShift, SummerSchedule
from tests.clock import astana
from tests.factories import (
    CohortWindowFactory,
    GroupFactory,
    KindergartenShiftFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects():
    """One row of every model the admin shows."""
    group = GroupFactory(birth_year=2021)
    kindergarten = group.kindergarten
    [place] = place_release(group=group, count=1, at=astana(2024, 5, 2, 10, 0))
    window = CohortWindowFactory(schedule__city=kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    shift = KindergartenShiftFactory(window=window, kindergarten=kindergarten, shifted_start=dt.date(2024, 6, 10))
    override = CalendarOverride.objects.create(date=dt.date(2024, 12, 30), kind="holiday", legal_act="Decree 1")
    protocol = Protocol.objects.create(
        city=kindergarten.city,
        day=dt.date(2024, 5, 2),
        published_at=timezone.now(),
        entries=[],
        sha256="a" * 64,
        previous_sha256=Protocol.GENESIS,
    )
    return {
        City: kindergarten.city,
        Kindergarten: kindergarten,
        Group: group,
        Place: place,
        PlaceEvent: PlaceEvent.objects.get(place=place),
        Protocol: protocol,
        CalendarOverride: override,
        SummerSchedule: window.schedule,
        CohortWindow: window,
        KindergartenShift: shift,
    }


MODELS = [
    City,
    Kindergarten,
    Group,
    Place,
    PlaceEvent,
    Protocol,
    CalendarOverride,
    SummerSchedule,
    CohortWindow,
    KindergartenShift,
]


def admin_url(language: str, model, suffix: str = "") -> str:
    return f"/{language}/admin/{model._meta.app_label}/{model._meta.model_name}/{suffix}"


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_list_and_change_pages_open_for_a_superuser(client, superuser, objects, model, language):
    assert client.get(admin_url(language, model)).status_code == 200
    response = client.get(admin_url(language, model, f"{objects[model].pk}/change/"))
    assert response.status_code == 200
    assert f'<html lang="{language}"' in response.content.decode()


@pytest.mark.parametrize(
    "model", [City, Kindergarten, Group, SummerSchedule, KindergartenShift], ids=lambda m: m.__name__
)
def test_translated_fields_are_edited_in_language_tabs(client, superuser, objects, model):
    html = client.get(admin_url("ru", model, "add/")).content.decode()
    assert "modeltranslation/js/tabbed_translation_fields.js" in html
    assert "_ru" in html and "_kk" in html


def test_kindergarten_page_edits_its_groups_inline(client, superuser, objects):
    kindergarten = objects[Kindergarten]
    html = client.get(admin_url("ru", Kindergarten, f"{kindergarten.pk}/change/")).content.decode()
    assert 'name="groups-0-birth_year"' in html


@pytest.mark.parametrize("model", [Place, PlaceEvent, Protocol], ids=lambda m: m.__name__)
def test_chronology_cannot_be_added_changed_or_deleted_in_the_admin(client, superuser, objects, model):
    obj = objects[model]
    before = model.objects.count()
    assert client.get(admin_url("ru", model, "add/")).status_code == 403
    assert client.get(admin_url("ru", model, f"{obj.pk}/delete/")).status_code == 403
    response = client.post(admin_url("ru", model, f"{obj.pk}/change/"), {"reason": "changed"})
    assert response.status_code == 403
    changelist = client.get(admin_url("ru", model)).content.decode()
    assert admin_url("ru", model, "add/") not in changelist
    assert model.objects.count() == before


def test_place_event_admin_filters_by_city_kind_and_protocol_day(client, superuser, objects):
    event = objects[PlaceEvent]
    response = client.get(
        admin_url("ru", PlaceEvent),
        {"city__id__exact": event.city_id, "kind__exact": "released", "protocol_day": "2024-05-02"},
    )
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [event]


def test_summer_schedule_shows_each_windows_computed_dates(client, superuser, objects):
    schedule = objects[SummerSchedule]
    change = client.get(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/")).content.decode()
    assert "05.06.2024" in change  # priority ends Wednesday 18:00 (3 working days from Monday 03.06)
    assert "06.06.2024" in change  # general access from
    listing = client.get(admin_url("ru", SummerSchedule)).content.decode()
    assert "05.06.2024" in listing and "06.06.2024" in listing


def test_cohort_window_shows_its_shifts_with_their_own_computed_dates(client, superuser, objects):
    window = objects[CohortWindow]
    change = client.get(admin_url("ru", CohortWindow, f"{window.pk}/change/")).content.decode()
    assert "12.06.2024" in change and "13.06.2024" in change  # the shift from 10.06
    listing = client.get(admin_url("ru", KindergartenShift)).content.decode()
    assert "12.06.2024" in listing and "13.06.2024" in listing


def schedule_body(objects, **extra) -> dict:
    """The schedule's change form as the admin posts it: the schedule, its one window, its one shift."""
    schedule, window, shift = objects[SummerSchedule], objects[CohortWindow], objects[KindergartenShift]
    body = {
        "city": schedule.city_id,
        "year": 2024,
        "campaign_start": "2024-05-15",
        "note_ru": "",
        "note_kk": "",
        "note_en": "",
        "windows-TOTAL_FORMS": "1",
        "windows-INITIAL_FORMS": "1",
        "windows-MIN_NUM_FORMS": "0",
        "windows-MAX_NUM_FORMS": "1000",
        "windows-0-id": window.pk,
        "windows-0-schedule": schedule.pk,
        "windows-0-birth_year": "2021",
        "windows-0-age": "3",
        "windows-0-priority_start": "2024-06-03",
        "shifts-TOTAL_FORMS": "1",
        "shifts-INITIAL_FORMS": "1",
        "shifts-MIN_NUM_FORMS": "0",
        "shifts-MAX_NUM_FORMS": "1000",
        "shifts-0-id": shift.pk,
        "shifts-0-window": window.pk,
        "shifts-0-kindergarten": shift.kindergarten_id,
        "shifts-0-shifted_start": "2024-06-10",
        "shifts-0-reason_ru": "Ремонт",
        "shifts-0-reason_kk": "Жөндеу",
        "shifts-0-reason_en": "",
    }
    return body | extra


def test_kindergarten_shifts_are_edited_on_the_schedules_page(client, superuser, objects):
    schedule, window = objects[SummerSchedule], objects[CohortWindow]
    other = GroupFactory(birth_year=2021, kindergarten__city=schedule.city).kindergarten
    page = client.get(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/")).content.decode()
    assert 'name="shifts-0-shifted_start"' in page and "12.06.2024" in page  # the shift, with its computed dates
    body = schedule_body(objects) | {
        "shifts-TOTAL_FORMS": "2",
        "shifts-1-id": "",
        "shifts-1-window": window.pk,
        "shifts-1-kindergarten": other.pk,
        "shifts-1-shifted_start": "2024-06-17",
        "shifts-1-reason_ru": "Карантин",
        "shifts-1-reason_kk": "Карантин",
        "shifts-1-reason_en": "",
    }
    response = client.post(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/"), body)
    assert response.status_code == 302
    assert KindergartenShift.objects.get(kindergarten=other).shifted_start == dt.date(2024, 6, 17)


def test_a_shift_on_the_schedules_page_takes_only_that_schedules_windows(client, superuser, objects):
    schedule = objects[SummerSchedule]
    foreign = CohortWindowFactory(birth_year=2020)  # another city's schedule
    body = schedule_body(objects, **{"shifts-0-window": foreign.pk})
    response = client.post(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/"), body)
    assert response.status_code == 200
    assert KindergartenShift.objects.get().window == objects[CohortWindow]


def test_the_preview_is_a_neutral_notice_not_an_error(client, superuser, objects):
    schedule = objects[SummerSchedule]
    body = schedule_body(objects, preview_dates="on", **{"shifts-0-shifted_start": "2024-06-20"})
    response = client.post(admin_url("kk", SummerSchedule, f"{schedule.pk}/change/"), body)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="errornote"' not in html and 'class="errorlist' not in html
    notices = [str(m) for m in response.context["messages"]]
    assert any("24.06.2024" in notice and "25.06.2024" in notice for notice in notices)  # the shift from 20.06
    assert '<ul class="messagelist">' in html and '<li class="info">' in html
    assert KindergartenShift.objects.get().shifted_start == dt.date(2024, 6, 10)


def test_preview_shows_the_dates_of_a_new_window_before_saving_and_saves_nothing(client, superuser, objects):
    schedule = objects[SummerSchedule]
    body = schedule_body(objects) | {
        "preview_dates": "on",
        "windows-TOTAL_FORMS": "2",
        "windows-1-id": "",
        "windows-1-schedule": schedule.pk,
        "windows-1-birth_year": "2020",
        "windows-1-age": "4",
        "windows-1-priority_start": "2024-06-20",  # Thursday: priority ends Monday 24.06, general from 25.06
    }
    response = client.post(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/"), body)
    assert response.status_code == 200
    html = response.content.decode()
    assert "24.06.2024" in html and "25.06.2024" in html
    assert CohortWindow.objects.filter(schedule=schedule).count() == 1

    del body["preview_dates"]
    response = client.post(admin_url("ru", SummerSchedule, f"{schedule.pk}/change/"), body)
    assert response.status_code == 302
    assert CohortWindow.objects.filter(schedule=schedule).count() == 2
