"""The referral page, its print version, declining it, and the cabinet's priority eligibility, referrals and
contracts (issue 5, What users see)."""

import datetime as dt

import pytest
from django.test import Client

from placement.models import Application, Place, PlaceEvent, Protocol, Referral
from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release
from placement.services.referrals import referral_enrol
from tests.clock import astana, at
from tests.factories import GroupFactory, ParentFactory, RepresentationFactory, StaffFactory, applicant
from tests.i18n import text_of, url
from tests.placement.claims import IN_GENERAL, IN_PRIORITY, RELEASED, interface_in_english, registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def taken(city, group):
    """A parent holding a live referral issued on 07.05.2024 12:00 (valid until 16.05.2024 18:00)."""
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    referral, _ = place_claim(place=place, application=application, by=parent, at=IN_GENERAL)
    return parent, referral


def test_the_referral_page_shows_kindergarten_group_child_and_the_deadline_in_astana_time(logged_in, taken):
    parent, referral = taken
    with at(IN_GENERAL):
        response = logged_in(parent).get(url("referral", number=referral.number))
    html = response.content.decode()
    assert response.status_code == 200
    assert referral.number in html and referral.kindergarten.name_ru in html
    assert "ул. Абая, 1" in html and "Сапаров Арман" in html
    assert "действительно до 16.05.2024 18:00 (время Астаны)" in html
    assert referral.child.iin not in html
    assert "?print=1" in html and "onclick" not in html and "<script" not in html
    assert url("referral-decline", number=referral.number) in html


def test_the_print_version_has_the_number_and_the_deadline_and_no_navigation(logged_in, taken):
    parent, referral = taken
    with at(IN_GENERAL):
        html = logged_in(parent).get(url("referral", "kk", number=referral.number) + "?print=1").content.decode()
    assert referral.number in html and "16.05.2024 18:00" in html
    assert "site-nav" not in html and "lang-switch" not in html and "<script" not in html


def test_another_family_gets_404_on_the_referral_and_cannot_decline_it(logged_in, taken):
    _, referral = taken
    stranger = logged_in(ParentFactory())
    with at(IN_GENERAL):
        assert stranger.get(url("referral", number=referral.number)).status_code == 404
        assert stranger.get(url("referral", number=referral.number) + "?print=1").status_code == 404
        assert stranger.post(url("referral-decline", number=referral.number)).status_code == 404
        assert stranger.get(url("referral", number="R-0000-0000-0000")).status_code == 404
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE


def test_the_other_confirmed_parent_sees_the_referral_but_only_the_holder_declines(logged_in, taken):
    _, referral = taken
    other = ParentFactory()
    RepresentationFactory(parent=other, child=referral.child)
    client = logged_in(other)
    with at(IN_GENERAL):
        page = client.get(url("referral", number=referral.number)).content.decode()
        declined = client.post(url("referral-decline", number=referral.number), follow=True)
    assert referral.number in page and url("referral-decline", number=referral.number) not in page
    assert "Отказаться от направления может только родитель" in declined.content.decode()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE


def test_claim_then_decline_returns_the_place_to_the_registry_and_the_child_to_the_queue(logged_in, city, group):
    [place] = place_release(group=group, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    client = logged_in(parent)
    with at(IN_GENERAL):
        client.post(url("place-claim", pk=place.pk), {"application": application.number})
        [referral] = Referral.objects.all()
        assert f'data-place="{place.pk}"' not in registry(client, city).content.decode()
        confirm = client.get(url("referral-decline", number=referral.number))
        assert confirm.status_code == 200 and 'name="csrfmiddlewaretoken"' in confirm.content.decode()
        declined = client.post(url("referral-decline", number=referral.number))
        assert declined.status_code == 302 and declined["Location"] == url("referral", number=referral.number)
        again = client.post(url("referral-decline", number=referral.number), follow=True)
        assert "Это направление уже недействительно." in again.content.decode()
        html = registry(client, city).content.decode()
    referral.refresh_from_db()
    place.refresh_from_db()
    application.refresh_from_db()
    assert referral.status == Referral.Status.DECLINED
    assert place.state == Place.State.PRIORITY
    assert application.status == Application.Status.QUEUED
    assert place.events.filter(kind=PlaceEvent.Kind.RETURNED).exists()
    assert f'data-place="{place.pk}"' in html
    assert f'data-application="{application.number}"' in html  # a button or a reason again


def test_the_protocol_records_why_the_place_returned_as_a_code_each_reader_reads_in_their_language(
    logged_in, client, city, taken
):
    """A parent declining in Kazakh does not write Kazakh into the public protocol: the hashed entry holds the
    code, and the Russian and the Kazakh page each say it in their own words."""
    parent, referral = taken
    with at(IN_GENERAL):
        logged_in(parent).post(url("referral-decline", "kk", number=referral.number))
    returned = PlaceEvent.objects.get(place_id=referral.place_id, kind=PlaceEvent.Kind.RETURNED)
    assert returned.reason == "referral_declined"
    assert Referral.objects.get(pk=referral.pk).close_reason == "referral_declined"
    run_daily(at=astana(2024, 5, 7, 18, 0), city=city)
    [entry] = [e for e in Protocol.objects.get(city=city, day=dt.date(2024, 5, 7)).entries if e["event"] == "returned"]
    assert entry["reason"] == "referral_declined"
    russian = text_of(client.get(url("protocol_day", city=city.slug, day="2024-05-07")))
    kazakh = text_of(client.get(url("protocol_day", "kk", city=city.slug, day="2024-05-07")))
    assert "Отказ родителя" in russian and "Ата-ананың бас тартуы" in kazakh
    assert "referral_declined" not in russian + kazakh
    api = client.get(f"/api/v1/protocols/{city.slug}/2024-05-07/", HTTP_ACCEPT_LANGUAGE="kk").json()
    [returned_entry] = [e for e in api["entries"] if e["event"] == "returned"]
    assert (returned_entry["reason"], returned_entry["reason_label"]) == ("referral_declined", "Ата-ананың бас тартуы")


def test_the_decline_post_needs_the_csrf_token(taken):
    parent, referral = taken
    client = Client(enforce_csrf_checks=True)
    client.force_login(parent)
    with at(IN_GENERAL):
        assert client.post(url("referral-decline", number=referral.number)).status_code == 403
    referral.refresh_from_db()
    assert referral.status == Referral.Status.LIVE


# --- The cabinet -----------------------------------------------------------------------------------------


def test_the_cabinet_says_how_many_places_each_application_may_take_now_and_why_not(logged_in, city, group):
    place_release(group=group, count=2, at=RELEASED)
    first_parent, _first = applicant(city, 1)
    for minutes in range(2, 5):
        applicant(city, minutes)
    last_parent, _last = applicant(city, 9)
    with at(IN_PRIORITY):
        head = logged_in(first_parent).get(url("cabinet")).content.decode()
        tail = logged_in(last_parent).get(url("cabinet")).content.decode()
    assert '<strong class="eligible">2 места</strong>' in head
    assert f'href="{url("registry")}?city={city.slug}">Показать места, которые можно занять</a>' in head
    assert "Сейчас нет" in tail
    assert "Позиция в очереди 5; в приоритетном доступе 2 мест" in tail
    assert f'href="{url("registry")}?city={city.slug}&amp;view=all"' in tail


def test_the_cabinet_counts_language_and_group_type_not_only_the_position(logged_in, city, group):
    """Issue 13: both priority places are Russian, the child is first in the Kazakh queue: nothing to take."""
    russian = GroupFactory(kindergarten=group.kindergarten, birth_year=2021, language="ru", group_type="general")
    place_release(group=russian, count=2, at=RELEASED)
    special = GroupFactory(kindergarten=group.kindergarten, birth_year=2021, language="kk", group_type="special")
    place_release(group=special, count=1, at=RELEASED)
    parent, application = applicant(city, 1)
    with at(IN_PRIORITY):
        html = logged_in(parent).get(url("cabinet")).content.decode()
    row = html[html.index(f'data-number="{application.number}"') :].split("</tr>", 1)[0]
    assert "class=\"eligible\"" not in row
    assert "Сейчас нет" in row
    assert "Сейчас нет свободного места, подходящего под заявление" in row


def test_the_cabinet_lists_live_referrals_with_deadline_and_links_past_ones_with_status_and_contracts(
    logged_in, city, group, taken
):
    parent, live = taken
    [other_place] = place_release(group=group, count=1, at=RELEASED)
    _, second = applicant(city, 5, parent=parent, first_name="Дана")
    enrolled, _ = place_claim(place=other_place, application=second, by=parent, at=IN_GENERAL)
    referral_enrol(referral=enrolled, by=StaffFactory(kindergarten=group.kindergarten), at=astana(2024, 5, 8, 10))
    with at(astana(2024, 5, 8, 12)):
        html = logged_in(parent).get(url("cabinet")).content.decode()
    assert f'data-referral="{live.number}"' in html and "действительно до 16.05.2024 18:00" in html
    assert url("referral", number=live.number) + "?print=1" in html
    assert url("referral-decline", number=live.number) in html
    assert f'data-referral="{enrolled.number}"' in html and "Ребёнок зачислен" in html
    assert "contracts-table" in html and "08.05.2024 10:00" in html


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_the_referral_pages_and_the_cabinet_leave_no_english(logged_in, language, taken):
    parent, referral = taken
    client = logged_in(parent)
    names = ["referral", "referral-decline"]
    with at(IN_GENERAL):
        pairs = [
            (
                client.get(url(name, language, number=referral.number) + suffix).content.decode(),
                client.get(url(name, "en", number=referral.number) + suffix).content.decode(),
            )
            for name in names
            for suffix in ("", "?print=1")
        ]
        pairs.append(
            (client.get(url("cabinet", language)).content.decode(), client.get(url("cabinet", "en")).content.decode())
        )
    data = ("Арман", "Сапаров", "Абая", "Абай", "Айгерим", "Сапарова", "Свидетельство")
    for page, english in pairs:
        assert interface_in_english(page, english, *data) == []
