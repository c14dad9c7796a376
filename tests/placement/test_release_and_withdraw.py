import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from placement.errors import NotYourKindergarten, PlaceNotWithdrawable
from placement.models import Access, Place, PlaceEvent
from placement.services.places import place_release, place_withdraw
from tests.clock import astana
from tests.factories import (
    CohortWindowFactory,
    GroupFactory,
    KindergartenShiftFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db


def test_released_place_enters_priority_for_three_working_days(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    assert place.state == Place.State.PRIORITY
    assert place.entered_priority_at == astana(2024, 5, 2, 10, 0)
    assert place.priority_until == astana(2024, 5, 6, 18, 0)
    assert place.access_at(astana(2024, 5, 6, 17, 59)) == Access.PRIORITY
    assert place.access_at(astana(2024, 5, 6, 18, 0)) == Access.GENERAL
    event = PlaceEvent.objects.get(place=place)
    assert (event.kind, event.access, event.by, event.protocol_day) == (
        "released",
        "priority",
        staff,
        dt.date(2024, 5, 2),
    )


def test_city_setting_changes_the_number_of_priority_working_days(group, staff):
    city = group.kindergarten.city
    city.priority_working_days = 1
    city.save()
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    assert place.priority_until == astana(2024, 5, 3, 18, 0)


def test_place_released_during_the_campaign_waits_for_its_summer_window(group, staff):
    CohortWindowFactory(schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 27, 11, 0))
    assert place.state == Place.State.SCHEDULED
    assert place.entered_priority_at == astana(2024, 6, 3, 0, 0)
    assert place.priority_until == astana(2024, 6, 5, 18, 0)
    assert place.access_at(astana(2024, 6, 2, 23, 59)) == Access.SCHEDULED
    assert place.access_at(astana(2024, 6, 3, 0, 0)) == Access.PRIORITY
    assert PlaceEvent.objects.get(place=place).kind == PlaceEvent.Kind.SCHEDULED


def test_place_released_before_the_campaign_starts_enters_priority_at_once(group, staff):
    CohortWindowFactory(schedule__city=group.kindergarten.city, schedule__campaign_start=dt.date(2024, 5, 20))
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    assert place.state == Place.State.PRIORITY


def test_place_released_after_its_window_opened_enters_priority_at_once(group, staff):
    CohortWindowFactory(schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3))
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 6, 4, 10, 0))
    assert place.state == Place.State.PRIORITY
    assert place.priority_until == astana(2024, 6, 7, 18, 0)


def test_a_kindergarten_shift_moves_its_window(group, staff):
    window = CohortWindowFactory(
        schedule__city=group.kindergarten.city, birth_year=2021, priority_start=dt.date(2024, 6, 3)
    )
    KindergartenShiftFactory(window=window, kindergarten=group.kindergarten, shifted_start=dt.date(2024, 6, 10))
    [shifted] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 27, 11, 0))
    other_group = GroupFactory(birth_year=2021, kindergarten__city=group.kindergarten.city)
    [unshifted] = place_release(group=other_group, count=1, at=astana(2024, 5, 27, 11, 0))
    assert shifted.entered_priority_at == astana(2024, 6, 10, 0, 0)
    assert shifted.priority_until == astana(2024, 6, 12, 18, 0)
    assert unshifted.entered_priority_at == astana(2024, 6, 3, 0, 0)


@pytest.mark.parametrize("count", [0, -1, 201, "3", 2.5, True, None])
def test_release_refuses_a_bad_count_and_writes_nothing(group, staff, count):
    with pytest.raises(ValidationError):
        place_release(group=group, count=count, by=staff, at=astana(2024, 5, 2, 10, 0))
    assert not Place.objects.exists()
    assert not PlaceEvent.objects.exists()


def test_staff_cannot_release_into_another_kindergarten(group):
    stranger = StaffFactory()
    with pytest.raises(NotYourKindergarten):
        place_release(group=group, count=1, by=stranger, at=astana(2024, 5, 2, 10, 0))
    assert not Place.objects.exists()


def test_withdrawal_from_priority_records_the_reason_and_leaves_the_registry(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    place_withdraw(place=place, by=staff, reason="Капитальный ремонт", at=astana(2024, 5, 3, 11, 0))
    place.refresh_from_db()
    assert place.state == Place.State.WITHDRAWN
    assert place.withdraw_reason == "Капитальный ремонт"
    assert not Place.objects.open_at(astana(2024, 5, 3, 11, 1)).exists()
    event = place.events.get(kind=PlaceEvent.Kind.WITHDRAWN)
    assert (event.access, event.reason, event.by) == ("priority", "Капитальный ремонт", staff)


def test_withdrawal_from_general_records_general_access(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    place_withdraw(place=place, by=staff, reason="Repairs", at=astana(2024, 5, 7, 10, 0))
    assert place.events.get(kind=PlaceEvent.Kind.WITHDRAWN).access == "general"


def test_withdrawal_of_a_withdrawn_place_is_refused(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    place_withdraw(place=place, by=staff, reason="Repairs", at=astana(2024, 5, 3, 10, 0))
    with pytest.raises(PlaceNotWithdrawable):
        place_withdraw(place=place, by=staff, reason="Again", at=astana(2024, 5, 3, 10, 1))
    assert place.events.filter(kind=PlaceEvent.Kind.WITHDRAWN).count() == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501])
def test_withdrawal_needs_a_reason(group, staff, reason):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    with pytest.raises(ValidationError):
        place_withdraw(place=place, by=staff, reason=reason, at=astana(2024, 5, 3, 10, 0))
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY


def test_staff_cannot_withdraw_another_kindergartens_place(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    with pytest.raises(NotYourKindergarten):
        place_withdraw(place=place, by=StaffFactory(), reason="Mine now", at=astana(2024, 5, 3, 10, 0))
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY


def test_place_events_are_append_only(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=astana(2024, 5, 2, 10, 0))
    event = place.events.get()
    event.reason = "rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
