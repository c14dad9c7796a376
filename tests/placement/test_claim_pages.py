"""The registry for a logged-in parent (a "take" button or the reason on each place) and the confirmation step
(issue 5, What users see)."""

import datetime as dt
import itertools

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from placement.models import Application, Place, Referral
from placement.selectors.claims import claim_refusal, registry_claim_options
from placement.selectors.parents import claimable_applications
from placement.services.claims import place_claim
from placement.services.places import place_release, place_withdraw
from schedules.calendar import priority_ends_at
from tests.clock import astana, at
from tests.factories import CityFactory, GroupFactory, KindergartenFactory, ParentFactory, StaffFactory, applicant
from tests.i18n import url
from tests.placement.claims import (
    IN_GENERAL,
    IN_PRIORITY,
    REFUSAL_CODES,
    RELEASED,
    interface_in_english,
    refusal_situation,
    registry,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    return CityFactory(temirtau=True)


# --- The registry ----------------------------------------------------------------------------------------


def test_a_visitor_sees_no_take_buttons_and_a_hint_to_log_in(client, city, group):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_GENERAL):
        html = registry(client, city).content.decode()
    assert "claim-hint" in html and reverse("accounts:otp-login") in html
    assert 'class="button take"' not in html and "claim-cell" not in html


def test_staff_see_no_take_buttons(logged_in, city, group):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_GENERAL):
        html = registry(logged_in(StaffFactory(kindergarten=group.kindergarten)), city).content.decode()
    assert "claim-cell" not in html and "claim-hint" not in html


def test_the_head_of_the_queue_sees_take_on_a_priority_place_and_the_next_parent_sees_position_and_deadline(
    logged_in, city, group
):
    [place] = place_release(group=group, count=1, at=RELEASED)
    first_parent, first = applicant(city, 1, first_name="Арман")
    second_parent, _second = applicant(city, 2, first_name="Дана")
    with at(IN_PRIORITY):
        first_html = registry(logged_in(first_parent), city).content.decode()
        second_html = registry(logged_in(second_parent), city).content.decode()
    claim_url = url("place-claim", pk=place.pk, query=f"application={first.number}")
    assert f'href="{claim_url}"' in first_html
    assert "Арман (2021)" in first_html
    assert first.child.iin not in first_html
    assert 'data-reason="not_head_of_queue"' in second_html
    assert "Дана (2021)" in second_html
    assert "Позиция в очереди 2; в приоритетном доступе 1 мест" in second_html
    assert "06.05 18:00" in second_html
    assert 'class="button take"' not in second_html


def test_each_of_two_applications_gets_its_own_answer_on_each_place(logged_in, city, group):
    parent, kk_application = applicant(city, 1)
    applicant(city, 2, parent=parent, first_name="Дана", language="ru", birth_date=dt.date(2021, 8, 8))
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_GENERAL):
        html = registry(logged_in(parent), city).content.decode()
    assert f'data-application="{kk_application.number}"' in html
    assert 'class="button take"' in html
    assert 'data-reason="language_mismatch"' in html


def test_a_parent_without_applications_is_told_to_apply_first(logged_in, city, group):
    place_release(group=group, count=1, at=RELEASED)
    with at(IN_GENERAL):
        html = registry(logged_in(ParentFactory()), city).content.decode()
    assert "claim-hint" in html and 'class="button take"' not in html


def test_a_parents_registry_shows_by_default_only_what_their_children_can_take_with_a_switch_to_every_place(
    logged_in, city, group
):
    kazakh = place_release(group=group, count=3, at=RELEASED)
    russian_group = GroupFactory(kindergarten=group.kindergarten, birth_year=2021, language="ru")
    russian = place_release(group=russian_group, count=2, at=RELEASED)
    parent, application = applicant(city, 1)
    client = logged_in(parent)
    with at(IN_GENERAL):
        mine = client.get(url("registry", query="city=temirtau")).content.decode()
        every = client.get(url("registry", query="city=temirtau&view=all")).content.decode()
    assert "Места, которые ваши дети могут занять сейчас" in mine
    assert f'data-place="{kazakh[0].pk}" data-count="3"' in mine
    assert f'data-place="{russian[0].pk}"' not in mine
    assert mine.count('class="button take"') == 1
    assert 'href="?city=temirtau&amp;view=all">Показать все свободные места</a>' in mine
    assert f'data-place="{kazakh[0].pk}" data-count="3"' in every and f'data-place="{russian[0].pk}"' in every
    assert every.count('class="button take"') == 1  # the Russian places: no button, and no reason on the row
    assert 'name="view" value="all"' in every
    assert 'href="?city=temirtau">Показать только места, которые мои дети могут занять сейчас</a>' in every
    assert f'<li data-application="{application.number}">' in mine and "может занять 3 места сейчас" in mine


def test_a_refusal_is_told_once_per_child_not_on_every_row(logged_in, city, group):
    for year in (2021, 2021, 2021):
        other = GroupFactory(kindergarten=KindergartenFactory(city=city), birth_year=year, language="kk")
        place_release(group=other, count=1, at=RELEASED)
    parent, application = applicant(city, 1, representation="pending")
    with at(IN_GENERAL):
        every = logged_in(parent).get(url("registry", query="city=temirtau&view=all")).content.decode()
        mine = logged_in(parent).get(url("registry", query="city=temirtau")).content.decode()
    message = "Ваше законное представительство этого ребёнка ещё не подтверждено."
    assert every.count("data-count=") == 3
    assert every.count(message) == 1 and mine.count(message) == 1
    assert f'data-application="{application.number}" data-reason="not_confirmed"' in every
    assert "Сейчас ни один из ваших детей не может занять свободное место." in mine


def test_a_parents_registry_is_never_served_from_or_stored_in_the_shared_cache(logged_in, city, group):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    place_release(group=group, count=2, at=RELEASED)
    parent, _application = applicant(city, 1)
    anonymous = Client()
    with at(IN_GENERAL):
        anonymous.get(url("registry", query="city=temirtau"))  # stored for visitors
        mine = logged_in(parent).get(url("registry", query="city=temirtau")).content.decode()
        with CaptureQueriesContext(connection) as queries:
            visitor = anonymous.get(url("registry", query="city=temirtau")).content.decode()
        assert len(queries) == 0  # the visitors' page, from the cache
        nobody = ParentFactory()  # a parent with no application sees no buttons, computed for them
        with CaptureQueriesContext(connection) as queries:
            theirs = logged_in(nobody).get(url("registry", query="city=temirtau")).content.decode()
        assert len(queries) > 0
    assert 'class="button take"' in mine and 'class="button take"' not in visitor
    assert 'class="button take"' not in theirs and "claim-hint" in theirs


@pytest.mark.parametrize("code", REFUSAL_CODES)
def test_every_refusal_reason_reaches_the_registry_and_the_confirmation_page(logged_in, code, city, group):
    parent, application, place, moment = refusal_situation(code, city, group)
    client = logged_in(parent)
    confirm = url("place-claim", pk=place.pk, query=f"application={application.number}")
    with at(moment):
        expected = str(claim_refusal(place=place, application=application, by=parent, at=moment))
        page = client.get(url("registry", query=f"city={place.city.slug}"))
        shown = client.get(confirm)
        posted = client.post(confirm, {"application": application.number})
    html = page.content.decode()
    if code == "cohort_mismatch":
        # Once per child (issue 13): a child with no free place of its birth year is told that none matches.
        assert f'<li data-application="{application.number}">' in html
        assert "Сейчас нет свободного места, подходящего под заявление" in html
    else:
        assert f'data-application="{application.number}" data-reason="{code}"' in html
    assert shown.status_code == 403 and posted.status_code == 403
    for response in (shown, posted):
        body = response.content.decode()
        assert f'data-reason="{code}"' in body
        assert expected.split(";")[0] in body
        assert 'name="csrfmiddlewaretoken"' not in body.split("<main", 1)[1]
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY
    assert not Referral.objects.filter(place=place).exists()


def test_the_pages_batch_answers_agree_with_claim_refusal_for_every_place_and_application(city, group):
    kindergarten = group.kindergarten
    groups = [
        group,
        GroupFactory(kindergarten=kindergarten, birth_year=2021, language="ru", group_type="general"),
        GroupFactory(kindergarten=kindergarten, birth_year=2020, language="kk", group_type="general"),
        GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk", group_type="special"),
        GroupFactory(kindergarten__city=CityFactory(), birth_year=2021, language="kk", group_type="general"),
    ]
    for g in groups:
        place_release(group=g, count=2, at=RELEASED)
    later = GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk", group_type="general")
    place_release(group=later, count=1, at=astana(2024, 5, 6, 10, 0))  # still in priority on 7 May
    parent = ParentFactory()
    for minutes in range(3):
        applicant(city, minutes)
    applicant(city, 10, parent=parent)
    applicant(city, 11, parent=parent, language="any", birth_date=dt.date(2020, 1, 1))
    applicant(city, 12, parent=parent, representation="pending", group_type="special")
    applicant(city, 0, parent=parent, language="ru", status=Application.Status.HELD)
    for moment in (IN_PRIORITY, IN_GENERAL):
        places = list(Place.objects.open_at(moment).select_related("group"))
        applications = list(claimable_applications(parent=parent))
        options = registry_claim_options(parent=parent, places=places, at=moment, applications=applications)
        seen = set()
        for place, application in itertools.product(places, applications):
            refusal = claim_refusal(place=place, application=application, by=parent, at=moment)
            [option] = [o for o in options[place.pk] if o.application.pk == application.pk]
            assert option.code == (refusal.code if refusal else None), (place, application, moment)
            assert str(option.refusal or "") == str(refusal or "")
            seen.add(option.code)
        assert None in seen and len(seen) >= 5


def test_the_logged_in_registry_stays_within_20_queries_for_2_applications_and_30_places(
    logged_in, city, group, django_assert_max_num_queries
):
    for i in range(6):
        g = GroupFactory(kindergarten__city=city, birth_year=2021, language=("kk", "ru")[i % 2])
        place_release(group=g, count=5, at=RELEASED)
    parent, _ = applicant(city, 1)
    applicant(city, 2, parent=parent, first_name="Дана", language="ru", birth_date=dt.date(2021, 9, 9))
    for minutes in range(3, 8):
        applicant(city, minutes)
    client = logged_in(parent)
    with at(IN_PRIORITY), django_assert_max_num_queries(20):
        response = registry(client, city)
    html = response.content.decode()
    # Six bundles of five identical places, each for one of the two children (Kazakh or Russian).
    assert html.count('class="claim-cell"') == 6
    assert html.count('class="button take"') == 6
    assert html.count("data-count=") == 6


# --- The confirmation step -------------------------------------------------------------------------------


def test_the_one_take_button_of_identical_places_serves_as_many_parents_as_there_are_places(logged_in, city, group):
    """The registry shows identical places as one row whose button names the first of them (issue 13): a parent
    who confirms it after someone else took that one gets the next, until none is left."""
    first, second = place_release(group=group, count=2, at=RELEASED)
    parents = [applicant(city, minutes, first_name=name) for minutes, name in ((1, "Арман"), (2, "Дана"), (3, "Ерлан"))]
    with at(IN_GENERAL):
        taken = []
        for parent, application in parents:
            confirm = url("place-claim", pk=first.pk, query=f"application={application.number}")
            taken.append(logged_in(parent).post(confirm, {"application": application.number}))
        late_parent, late = parents[2]
        shown = logged_in(late_parent).get(url("place-claim", pk=first.pk, query=f"application={late.number}"))
    assert [response.status_code for response in taken] == [302, 302, 409]
    assert set(Referral.objects.values_list("place_id", flat=True)) == {first.pk, second.pk}
    assert shown.status_code == 409


def test_opening_the_button_of_a_taken_place_offers_the_identical_one_still_free(logged_in, city, group):
    first, second = place_release(group=group, count=2, at=RELEASED)
    someone, theirs = applicant(city, 1)
    parent, application = applicant(city, 2, first_name="Дана")
    with at(IN_GENERAL):
        place_claim(place=first, application=theirs, by=someone, at=IN_GENERAL)
        response = logged_in(parent).get(url("place-claim", pk=first.pk, query=f"application={application.number}"))
    assert response.status_code == 302
    assert response["Location"] == url("place-claim", pk=second.pk, query=f"application={application.number}")


def test_confirm_take_and_a_double_click_land_on_the_same_referral(logged_in, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 3, first_name="Арман")
    client = logged_in(parent)
    confirm = url("place-claim", pk=place.pk, query=f"application={application.number}")
    with at(IN_GENERAL):
        page = client.get(confirm)
        assert page.status_code == 200
        body = page.content.decode()
        assert "16.05.2024 18:00" in body and "Арман, 2021" in body and application.child.iin not in body
        first = client.post(confirm, {"application": application.number})
        second = client.post(confirm, {"application": application.number})
        again = client.get(confirm)
    [referral] = Referral.objects.all()
    referral_url = url("referral", number=referral.number)
    assert (first.status_code, first["Location"]) == (302, referral_url)
    assert (second.status_code, second["Location"]) == (302, referral_url)
    assert (again.status_code, again["Location"]) == (302, referral_url)
    place.refresh_from_db()
    assert place.state == Place.State.TAKEN


@pytest.mark.parametrize("how", ["taken", "withdrawn", "not_open"])
def test_a_place_gone_meanwhile_shows_a_translated_message_with_409(logged_in, how, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 3)
    if how == "taken":
        other_parent, other = applicant(city, 0)
        place_claim(place=place, application=other, by=other_parent, at=IN_GENERAL)
    elif how == "withdrawn":
        place_withdraw(place=place, by=StaffFactory(kindergarten=group.kindergarten), reason="Ремонт", at=IN_GENERAL)
    else:
        opens = astana(2024, 6, 3, 0, 0)  # a summer window's start, still ahead
        Place.objects.filter(pk=place.pk).update(
            entered_priority_at=opens, priority_until=priority_ends_at(opens, place.city.priority_working_days)
        )
    confirm = url("place-claim", "kk", pk=place.pk, query=f"application={application.number}")
    client = logged_in(parent)
    with at(IN_GENERAL):
        shown = client.get(confirm)
        posted = client.post(confirm, {"application": application.number})
    for response in (shown, posted):
        assert response.status_code == 409
        assert f'data-reason="{how}"' in response.content.decode()
    with translation.override("en"):
        english = {"taken": "Someone has already taken", "withdrawn": "has withdrawn", "not_open": "not open yet"}
    assert english[how] not in posted.content.decode()
    assert Referral.objects.filter(application=application).count() == 0


def test_forged_place_ids_and_other_parents_applications_are_404_and_change_nothing(logged_in, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    _stranger, foreign = applicant(city, 0)
    client = logged_in(parent)
    with at(IN_GENERAL):
        assert client.get(url("place-claim", pk=999999, query=f"application={application.number}")).status_code == 404
        assert client.post(url("place-claim", pk=999999), {"application": application.number}).status_code == 404
        foreign_url = url("place-claim", pk=place.pk, query=f"application={foreign.number}")
        assert client.get(foreign_url).status_code == 404
        assert client.post(foreign_url, {"application": foreign.number}).status_code == 404
        assert client.post(url("place-claim", pk=place.pk), {}).status_code == 404
        assert client.post(url("place-claim", pk=place.pk), {"application": "<script>"}).status_code == 404
        assert client.get(url("place-claim", pk=place.pk, query="application=%00%FF")).status_code == 404
    assert not Referral.objects.exists()
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY


def test_the_confirmation_post_needs_the_csrf_token(city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(parent)
    with at(IN_GENERAL):
        response = client.post(url("place-claim", pk=place.pk), {"application": application.number})
    assert response.status_code == 403
    assert not Referral.objects.exists()


def test_visitors_are_sent_to_log_in_and_staff_get_403_on_the_confirmation(logged_in, client, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    _, application = applicant(city, 1)
    confirm = url("place-claim", pk=place.pk, query=f"application={application.number}")
    with at(IN_GENERAL):
        anonymous = client.get(confirm)
        staff = logged_in(StaffFactory(kindergarten=KindergartenFactory(city=city))).post(
            confirm, {"application": application.number}
        )
    assert anonymous.status_code == 302 and reverse("accounts:otp-login") in anonymous["Location"]
    assert staff.status_code == 403
    assert not Referral.objects.exists()


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_logged_in_registry_and_the_confirmation_leave_no_english(logged_in, language, city, group):
    [place] = place_release(group=group, count=2, at=RELEASED)[:1]
    parent, application = applicant(city, 1)
    applicant(city, 2, parent=parent, first_name="Дана", language="ru", birth_date=dt.date(2021, 9, 9))
    applicant(city, 0)
    client = logged_in(parent)
    confirm = "place-claim"
    with at(IN_PRIORITY):
        pages = [
            (
                registry(client, city, language).content.decode(),
                registry(client, city, "en").content.decode(),
            ),
            (
                client.get(url(confirm, language, pk=place.pk, query=f"application={application.number}")).content,
                client.get(url(confirm, "en", pk=place.pk, query=f"application={application.number}")).content,
            ),
        ]
    data = ("Арман", "Дана", "Абая", "Абай")
    for page, english in pages:
        page = page.decode() if isinstance(page, bytes) else page
        english = english.decode() if isinstance(english, bytes) else english
        assert interface_in_english(page, english, *data) == []
    assert "Take this place" not in pages[0][0]


def test_batched_queue_positions_equal_queue_position_across_categories(city):
    from placement.models import Application
    from placement.selectors.queue import applications_with_positions, queue_position

    applications = []
    for minutes in range(12):
        privilege = ("none", "priority", "none", "extraordinary")[minutes % 4]
        applications.append(applicant(city, minutes % 5, privilege=privilege)[1])
    applications.append(applicant(city, 3, birth_date=dt.date(2020, 2, 2))[1])
    rows = Application.objects.filter(pk__in=[a.pk for a in applications]).select_related("city")
    positions = {a.pk: a.position for a in applications_with_positions(rows)}
    assert positions == {a.pk: queue_position(a) for a in applications}


def test_an_out_of_range_place_id_is_a_404_not_a_500(logged_in, city, group):
    parent, application = applicant(city, 1)
    client = logged_in(parent)
    huge = 10**30
    with at(IN_GENERAL):
        assert client.get(url("place-claim", pk=huge, query=f"application={application.number}")).status_code == 404
        assert client.post(url("place-claim", pk=huge), {"application": application.number}).status_code == 404
        assert client.post(f"/api/v1/places/{huge}/claim/", {"application": application.number}).status_code == 404


def test_past_the_claim_limit_the_confirmation_answers_429_in_the_parents_language_and_takes_nothing(
    logged_in, city, group, settings
):
    settings.CLAIM_ATTEMPTS_PER_MINUTE = 1
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 3)
    client = logged_in(parent)
    confirm = url("place-claim", "kk", pk=place.pk, query=f"application={application.number}")
    with at(IN_GENERAL + dt.timedelta(seconds=10)):
        first = client.post(url("place-claim", "kk", pk=999999), {"application": application.number})
        limited = client.post(confirm, {"application": application.number})
        shown = client.get(confirm)  # looking is not an attempt
    assert first.status_code == 404
    assert (limited.status_code, limited["Retry-After"]) == (429, "50")
    body = limited.content.decode()
    assert 'data-reason="rate_limited"' in body
    with translation.override("kk"):
        expected = gettext("Too many attempts to take a place. Try again in %(seconds)s s.") % {"seconds": 50}
    assert expected in body
    assert shown.status_code == 200
    assert not Referral.objects.exists()
    place.refresh_from_db()
    assert place.state == Place.State.PRIORITY
