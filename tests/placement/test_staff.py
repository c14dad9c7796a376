"""Kindergarten staff pages: groups and release, live places and withdrawal, history (issue 3, staff)."""

import datetime as dt

import pytest
from django.urls import reverse

from placement.models import Place, PlaceEvent
from placement.services.places import place_release, place_withdraw
from placement.views.staff import group_label
from tests.clock import astana, at
from tests.factories import (
    AdminFactory,
    CohortWindowFactory,
)
from tests.i18n import untranslated_segments, url
from tests.rows import database_state

pytestmark = pytest.mark.django_db

RELEASED_AT = astana(2024, 5, 2, 10, 0)  # priority until Monday 05-06 18:00 (DOMAIN.md, May 2024)
IN_PRIORITY = astana(2024, 5, 3, 11, 0)
IN_GENERAL = astana(2024, 5, 10, 11, 0)


@pytest.fixture
def now():
    return IN_PRIORITY


@pytest.fixture
def place(group, staff):
    [place] = place_release(group=group, count=1, by=staff, at=RELEASED_AT)
    return place


def every_endpoint(group, place) -> list[tuple[str, str, dict]]:
    """Each staff page, addressed at `group`'s kindergarten, with a POST body that would be accepted."""
    scope = f"?kindergarten={group.kindergarten_id}"
    return [
        ("get", url("staff-home") + scope, {}),
        ("get", url("staff-places") + scope, {}),
        ("get", url("staff-history") + scope, {}),
        ("post", url("staff-release"), {"group": group.pk, "count": 3, "token": "t-1"}),
        ("post", url("staff-withdraw", pk=place.pk), {"reason": "Ремонт"}),
    ]


ENDPOINT_IDS = ["home", "places", "history", "release", "withdraw"]


# --- Who may open the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", range(5), ids=ENDPOINT_IDS)
def test_another_kindergartens_staff_gets_403_on_every_staff_page_and_nothing_changes(
    client, clock, group, place, other_staff, index
):
    method, address, data = every_endpoint(group, place)[index]
    client.force_login(other_staff)
    before = database_state()
    response = getattr(client, method)(address, data)
    assert response.status_code == 403
    assert "error.html" in [t.name for t in response.templates]
    assert database_state() == before


@pytest.mark.parametrize("index", range(5), ids=ENDPOINT_IDS)
def test_parent_gets_403_on_every_staff_page_and_nothing_changes(client, clock, group, place, parent, index):
    method, address, data = every_endpoint(group, place)[index]
    client.force_login(parent)
    before = database_state()
    response = getattr(client, method)(address, data)
    assert response.status_code == 403
    assert database_state() == before


@pytest.mark.parametrize("index", range(5), ids=ENDPOINT_IDS)
def test_anonymous_visitor_is_sent_to_login_from_every_staff_page(client, clock, group, place, index):
    method, address, data = every_endpoint(group, place)[index]
    before = database_state()
    response = getattr(client, method)(address, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert database_state() == before


def test_staff_login_with_password_opens_the_staff_home(client, clock, staff):
    response = client.post(
        reverse("accounts:login"),
        {"username": "2001", "password": "correct-horse-battery", "next": url("staff-home")},
    )
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200


# --- Groups and release ----------------------------------------------------------------------------------


def test_home_counts_live_places_by_access_following_the_clock(client, group, staff):
    place_release(group=group, count=2, by=staff, at=RELEASED_AT)
    place_release(group=group, count=1, by=staff, at=astana(2024, 5, 8, 10, 0))
    client.force_login(staff)
    with at(astana(2024, 5, 8, 12, 0)):
        response = client.get(url("staff-home"))
    assert response.status_code == 200
    [row] = response.context["groups"]
    assert (row.scheduled_count, row.priority_count, row.general_count) == (0, 1, 2)


def test_release_form_offers_only_own_groups(client, clock, group, staff, other_staff):
    client.force_login(staff)
    response = client.get(url("staff-home"))
    choices = [value for value, _ in response.context["form"].fields["group"].widget.choices if value]
    assert choices == [group.pk]
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


def test_staff_releases_places_and_is_redirected_with_a_message(client, clock, group, staff):
    client.force_login(staff)
    body = {"group": group.pk, "count": 3, "token": "t-1", "confirm": "1"}
    response = client.post(url("staff-release"), body, follow=True)
    assert response.redirect_chain == [(url("staff-home"), 302)]
    assert Place.objects.filter(group=group, state="priority").count() == 3
    assert set(PlaceEvent.objects.values_list("kind", "by__username")) == {("released", "2001")}
    [message] = response.context["messages"]
    assert message.level_tag == "success" and "3" in str(message)


def test_a_release_asks_for_confirmation_first_saying_where_the_places_appear(client, clock, group, staff):
    client.force_login(staff)
    response = client.post(url("staff-release"), {"group": group.pk, "count": 2, "token": "t-2"})
    assert response.status_code == 200
    assert Place.objects.count() == 0
    html = response.content.decode()
    assert "placement/staff/release_confirm.html" in [t.name for t in response.templates]
    assert f"Освободить 2 места в группе {group_label(group)}?" in html
    assert "Они сразу появятся в реестре и в протоколе освобождения мест" in html
    assert 'name="confirm" value="1"' in html and 'name="token" value="t-2"' in html
    confirmed = client.post(url("staff-release"), {"group": group.pk, "count": 2, "token": "t-2", "confirm": "1"})
    assert confirmed.status_code == 302
    assert Place.objects.count() == 2


def test_the_confirmation_of_a_summer_release_says_when_the_places_open(client, clock, group, staff):
    window = CohortWindowFactory(
        schedule__city=group.kindergarten.city, schedule__campaign_start=dt.date(2024, 5, 1), birth_year=2021,
        priority_start=dt.date(2024, 6, 3),
    )  # fmt: skip
    assert window.schedule.year == 2024
    client.force_login(staff)
    html = client.post(url("staff-release"), {"group": group.pk, "count": 1, "token": "t-3"}).content.decode()
    assert "в реестре — 03.06.2024 00:00" in html and "до 05.06.2024 18:00" in html


def test_a_release_posted_twice_with_the_same_form_releases_once(client, clock, group, staff):
    client.force_login(staff)
    body = {"group": group.pk, "count": 2, "token": "same-form", "confirm": "1"}
    first = client.post(url("staff-release"), body)
    second = client.post(url("staff-release"), body)
    assert (first.status_code, second.status_code) == (302, 302)
    assert Place.objects.count() == 2


def test_the_double_submit_guard_holds_without_a_cache(client, clock, group, staff, settings):
    """The form's token is a database row written with the release, so a down cache changes nothing."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    client.force_login(staff)
    body = {"group": group.pk, "count": 2, "token": "same-form", "confirm": "1"}
    client.post(url("staff-release"), body, follow=True)
    second = client.post(url("staff-release"), body, follow=True)
    assert Place.objects.count() == 2
    [message] = second.context["messages"]
    assert message.level_tag == "info"


def test_a_refused_release_does_not_use_up_its_form(client, clock, group, staff):
    client.force_login(staff)
    refused = client.post(url("staff-release"), {"group": group.pk, "count": 0, "token": "retry-me"})
    assert refused.status_code == 400
    client.post(url("staff-release"), {"group": group.pk, "count": 1, "token": "retry-me", "confirm": "1"})
    assert Place.objects.count() == 1


def test_each_rendered_release_form_gets_a_fresh_token(client, clock, staff):
    client.force_login(staff)
    first = client.get(url("staff-home")).context["form"]["token"].value()
    second = client.get(url("staff-home")).context["form"]["token"].value()
    assert first and second and first != second


@pytest.mark.parametrize("count", ["0", "201", "abc", ""])
def test_release_refuses_a_bad_count_and_changes_nothing(client, clock, group, staff, count):
    client.force_login(staff)
    response = client.post(url("staff-release"), {"group": group.pk, "count": count, "token": "t"})
    assert response.status_code == 400
    assert response.context["form"].errors["count"]
    assert Place.objects.count() == 0


def test_release_refuses_an_unknown_group_without_a_server_error(client, clock, staff):
    client.force_login(staff)
    response = client.post(url("staff-release"), {"group": 999999, "count": 1, "token": "t"})
    assert response.status_code == 400
    assert response.context["form"].errors["group"]


def test_department_admin_picks_a_kindergarten_then_releases_there(client, clock, group, department_admin):
    client.force_login(department_admin)
    chooser = client.get(url("staff-home"))
    assert chooser.status_code == 200
    assert "placement/staff/choose.html" in [t.name for t in chooser.templates]
    scope = f"?kindergarten={group.kindergarten_id}"
    response = client.post(url("staff-release") + scope, {"group": group.pk, "count": 1, "token": "t", "confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == url("staff-home") + scope
    assert Place.objects.get().kindergarten == group.kindergarten


def test_department_admin_cannot_release_into_a_group_outside_the_kindergarten_on_the_page(
    client, clock, group, other_staff
):
    client.force_login(AdminFactory())
    scope = f"?kindergarten={other_staff.kindergarten_id}"
    response = client.post(url("staff-release") + scope, {"group": group.pk, "count": 1, "token": "t"})
    assert response.status_code == 403
    assert Place.objects.count() == 0


# --- Live places and withdrawal --------------------------------------------------------------------------


def test_live_places_list_has_a_labelled_reason_box_per_place(client, clock, place, staff):
    client.force_login(staff)
    response = client.get(url("staff-places"))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'<label for="id_place_{place.pk}_reason">' in html
    assert f'id="id_place_{place.pk}_reason"' in html
    assert html.count('name="csrfmiddlewaretoken"') >= 2


def test_staff_withdraws_a_place_in_priority_access(client, place, staff):
    client.force_login(staff)
    with at(IN_PRIORITY):
        response = client.post(url("staff-withdraw", pk=place.pk), {"reason": "Ремонт группы"})
    assert response.status_code == 302
    assert response["Location"] == url("staff-places")
    place.refresh_from_db()
    assert (place.state, place.withdraw_reason, place.withdrawn_at) == ("withdrawn", "Ремонт группы", IN_PRIORITY)
    event = PlaceEvent.objects.get(place=place, kind="withdrawn")
    assert (event.access, event.by, event.reason) == ("priority", staff, "Ремонт группы")


def test_staff_withdraws_a_place_in_general_access(client, place, staff):
    client.force_login(staff)
    with at(IN_GENERAL):
        response = client.post(url("staff-withdraw", pk=place.pk), {"reason": "Карантин"})
    assert response.status_code == 302
    assert PlaceEvent.objects.get(place=place, kind="withdrawn").access == "general"


def test_withdrawal_needs_a_reason(client, clock, place, staff):
    client.force_login(staff)
    response = client.post(url("staff-withdraw", pk=place.pk), {"reason": "   "})
    assert response.status_code == 400
    page_place = next(p for p in response.context["page"] if p.pk == place.pk)
    assert page_place.withdraw_form.errors["reason"]
    place.refresh_from_db()
    assert place.state == "priority"


def test_withdrawing_a_place_already_withdrawn_shows_a_translated_error_and_changes_nothing(
    client, clock, place, staff
):
    place_withdraw(place=place, by=staff, reason="Ремонт", at=IN_PRIORITY)
    client.force_login(staff)
    before = database_state()
    response = client.post(url("staff-withdraw", pk=place.pk), {"reason": "Ещё раз"})
    assert response.status_code == 409
    assert "Это место уже нельзя отозвать" in response.content.decode()
    assert database_state() == before


def test_withdrawing_a_place_that_does_not_exist_is_404(client, clock, staff):
    client.force_login(staff)
    assert client.post(url("staff-withdraw", pk=999999), {"reason": "x"}).status_code == 404


# --- History ---------------------------------------------------------------------------------------------


def test_history_lists_own_events_newest_first_with_translated_labels_in_astana_time(
    client, clock, group, place, staff, other_staff
):
    place_withdraw(place=place, by=staff, reason="Ремонт", at=astana(2024, 5, 3, 9, 30))
    [other_group] = other_staff.kindergarten.groups.all()
    place_release(group=other_group, count=1, by=other_staff, at=RELEASED_AT)
    client.force_login(staff)
    response = client.get(url("staff-history"))
    events = list(response.context["page"])
    assert [e.kind for e in events] == ["withdrawn", "released"]
    html = response.content.decode()
    assert "03.05.2024 09:30" in html and "02.05.2024 10:00" in html
    assert "Отозвано" in html or "Отозван" in html


def test_history_is_paginated(client, clock, group, staff):
    place_release(group=group, count=60, by=staff, at=RELEASED_AT)
    client.force_login(staff)
    first = client.get(url("staff-history"))
    second = client.get(url("staff-history") + "?page=2")
    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 10


# --- Languages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("name", ["staff-home", "staff-places", "staff-history"])
def test_staff_pages_leave_no_english_in_russian_and_kazakh(client, clock, place, staff, language, name):
    client.force_login(staff)
    english = client.get(url(name, "en")).content.decode()
    translated = client.get(url(name, language))
    assert translated.status_code == 200
    assert untranslated_segments(translated.content.decode(), english) == []


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_forbidden_page_and_form_errors_leave_no_english(client, clock, place, staff, other_staff, language):
    client.force_login(other_staff)
    address = f"?kindergarten={staff.kindergarten_id}"
    english = client.get(url("staff-home", "en") + address).content.decode()
    translated = client.get(url("staff-home", language) + address).content.decode()
    assert untranslated_segments(translated, english) == []
    client.force_login(staff)
    body = {"group": place.group_id, "count": "abc", "token": "t"}
    english = client.post(url("staff-release", "en"), body).content.decode()
    translated = client.post(url("staff-release", language), body).content.decode()
    assert untranslated_segments(translated, english) == []
