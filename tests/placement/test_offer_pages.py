"""Offer mode's pages (issue 14, Done when: pages): ranked choices in the cabinet, the offer card with accept and
decline, resuming a paused application, the registry's offered places and the protocol's allocation section, in
ru, kk and en; refusals translated with their status, never a 500; another family's offer or application is a 404."""

import datetime as dt
import io
import re

import pytest
from django.utils import translation
from openpyxl import load_workbook

from accounts.models import AuditEntry
from placement.errors import ChoiceDuplicate, OfferExpired, ResumeExpired
from placement.models import Application, ApplicationChoice, Offer, Place, Protocol, Referral
from placement.services.choices import choices_set
from placement.services.daily import run_daily
from placement.services.places import place_release
from tests.clock import at
from tests.factories import CityFactory, ParentFactory, applicant
from tests.i18n import text_of, untranslated_segments, url
from tests.placement.offers import AFTER_DEADLINE, ANSWERING, OFFER_DEADLINE, RELEASED, RUN, offer_made

pytest_plugins = ["tests.placement.offers"]

pytestmark = pytest.mark.django_db


def choices_form(*ranked, any_other=False) -> dict:
    data = {f"choice_{rank}": kindergarten.pk for rank, kindergarten in enumerate(ranked, start=1)}
    return {**data, **({"any_other": "on"} if any_other else {})}


# --- Choices ---------------------------------------------------------------------------------------------------


def test_the_choices_page_offers_only_kindergartens_serving_the_childs_cohort_language_and_group_type(
    logged_in, chooser, kindergartens
):
    parent, application = chooser
    first, second, russian = kindergartens
    with at(RELEASED):
        response = logged_in(parent).get(url("cabinet-choices", number=application.number))
    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{first.pk}"' in html and f'value="{second.pk}"' in html
    assert f'value="{russian.pk}"' not in html
    assert html.count('name="choice_') == application.city.choices_max  # one select per rank, no script needed
    assert "<script" not in html


def test_saved_choices_keep_their_order_and_never_change_the_applications_time(logged_in, chooser, kindergartens):
    parent, application = chooser
    first, second, _russian = kindergartens
    applied_at = application.applied_at
    client = logged_in(parent)
    with at(RELEASED):
        response = client.post(
            url("cabinet-choices", number=application.number), choices_form(second, first, any_other=True)
        )
        assert response.status_code == 302 and response["Location"] == url("cabinet")
        again = client.post(  # a double submit saves the same list again
            url("cabinet-choices", number=application.number), choices_form(second, first, any_other=True)
        )
        assert again.status_code == 302
        cabinet = client.get(url("cabinet"))
    application.refresh_from_db()
    ranked = list(ApplicationChoice.objects.filter(application=application).order_by("rank"))
    assert [(c.rank, c.kindergarten_id) for c in ranked] == [(1, second.pk), (2, first.pk)]
    assert application.any_other is True and application.applied_at == applied_at
    assert AuditEntry.objects.filter(action="application.choices").count() == 2
    html = cabinet.content.decode()
    assert html.index(second.name_ru) < html.index(first.name_ru)  # the cabinet lists them in rank order
    assert "или любое другое подходящее место" in text_of(cabinet)


def test_a_duplicate_choice_is_refused_on_the_form_translated_with_400(logged_in, chooser, kindergartens):
    parent, application = chooser
    first, *_ = kindergartens
    with at(RELEASED):
        response = logged_in(parent).post(url("cabinet-choices", number=application.number), choices_form(first, first))
    assert response.status_code == 400
    with translation.override("ru"):
        assert str(ChoiceDuplicate.message) in response.content.decode()
    assert not ApplicationChoice.objects.filter(application=application).exists()


def test_a_kindergarten_not_on_the_list_is_refused_by_the_form(logged_in, chooser, kindergartens):
    parent, application = chooser
    _first, _second, russian = kindergartens
    with at(RELEASED):
        response = logged_in(parent).post(url("cabinet-choices", number=application.number), choices_form(russian))
    assert response.status_code == 400
    assert not ApplicationChoice.objects.filter(application=application).exists()


def test_choices_exist_only_in_an_offer_mode_city(logged_in):
    parent, application = applicant(CityFactory(), 0)  # claim mode, the default
    client = logged_in(parent)
    assert client.get(url("cabinet-choices", number=application.number)).status_code == 404
    assert client.post(url("cabinet-choices", number=application.number), {}).status_code == 404
    assert url("cabinet-choices", number=application.number) not in client.get(url("cabinet")).content.decode()


def test_another_familys_application_has_no_choices_page_for_you(logged_in, chooser, kindergartens):
    _parent, application = chooser
    stranger = logged_in(ParentFactory())
    first, *_ = kindergartens
    assert stranger.get(url("cabinet-choices", number=application.number)).status_code == 404
    assert stranger.post(url("cabinet-choices", number=application.number), choices_form(first)).status_code == 404
    assert not ApplicationChoice.objects.filter(application=application).exists()


# --- The offer card, accept, decline ----------------------------------------------------------------------------


@pytest.fixture
def offer(chooser, kindergartens) -> Offer:
    _parent, application = chooser
    return offer_made(application, kindergartens[0])


def test_the_cabinet_shows_the_offer_card_with_the_deadline_in_astana_time_and_both_answers(logged_in, offer):
    with at(ANSWERING):
        response = logged_in(offer.parent).get(url("cabinet"))
    html = response.content.decode()
    card = html[html.index('class="offer-card"') :]
    assert offer.kindergarten.name_ru in card
    assert f"ответить до {OFFER_DEADLINE} (время Астаны)" in text_of(response)
    assert f'action="{url("offer", pk=offer.pk)}"' in card  # accept: a plain POST form
    assert url("offer-decline", pk=offer.pk) in card  # decline: a confirmation page first


def test_past_its_deadline_the_cabinet_offers_no_answer_even_before_the_run_expires_it(logged_in, offer):
    with at(AFTER_DEADLINE):
        html = logged_in(offer.parent).get(url("cabinet")).content.decode()
    assert Offer.objects.get(pk=offer.pk).state == Offer.State.LIVE  # the 18:00 run has not expired it yet
    assert 'class="offer-card"' not in html and f'action="{url("offer", pk=offer.pk)}"' not in html


def test_accepting_an_offer_gives_a_referral_and_a_second_submit_lands_on_the_same_one(logged_in, offer):
    client = logged_in(offer.parent)
    with at(ANSWERING):
        response = client.post(url("offer", pk=offer.pk))
        again = client.post(url("offer", pk=offer.pk))
    referral = Referral.objects.get(application=offer.application)
    assert response.status_code == 302 and response["Location"] == url("referral", number=referral.number)
    assert again.status_code == 302 and again["Location"] == response["Location"]
    offer.refresh_from_db()
    assert offer.state == Offer.State.ACCEPTED and offer.referral == referral
    assert Place.objects.get(pk=offer.place_id).state == Place.State.TAKEN
    assert Referral.objects.count() == 1


def test_two_accepts_at_once_land_on_the_same_referral(logged_in, offer, monkeypatch):
    """The second click read the offer live, then waited for the lock while the first accepted it: the service
    refuses it (not live), and the page sends it where the first went instead of showing the refusal."""
    from placement.views import offers as offer_views

    client = logged_in(offer.parent)
    seen_live = Offer.objects.get(pk=offer.pk)
    with at(ANSWERING):
        first = client.post(url("offer", pk=offer.pk))
        monkeypatch.setattr(offer_views, "parent_offer_get", lambda parent, offer_id: seen_live)
        second = client.post(url("offer", pk=offer.pk))
    referral = Referral.objects.get(application=offer.application)
    assert first.status_code == 302 and second.status_code == 302
    assert second["Location"] == first["Location"] == url("referral", number=referral.number)
    assert Referral.objects.count() == 1


def test_two_declines_at_once_land_on_the_cabinet(logged_in, offer, monkeypatch):
    from placement.views import offers as offer_views

    client = logged_in(offer.parent)
    seen_live = Offer.objects.get(pk=offer.pk)
    with at(ANSWERING):
        first = client.post(url("offer-decline", pk=offer.pk))
        monkeypatch.setattr(offer_views, "parent_offer_get", lambda parent, offer_id: seen_live)
        second = client.post(url("offer-decline", pk=offer.pk), follow=True)
    assert first.status_code == 302 and second.redirect_chain == [(url("cabinet"), 302)]
    assert "Вы уже отказались от этого предложения." in text_of(second)
    assert Offer.objects.get(pk=offer.pk).state == Offer.State.DECLINED


def test_declining_asks_for_confirmation_then_keeps_the_child_in_the_queue(logged_in, offer):
    client = logged_in(offer.parent)
    with at(ANSWERING):
        confirmation = client.get(url("offer-decline", pk=offer.pk))
        assert Offer.objects.get(pk=offer.pk).state == Offer.State.LIVE  # the GET changes nothing
        response = client.post(url("offer-decline", pk=offer.pk))
        again = client.post(url("offer-decline", pk=offer.pk))
    assert confirmation.status_code == 200 and "Да, отказаться от предложения" in text_of(confirmation)
    assert response.status_code == 302 and again.status_code == 302
    offer.refresh_from_db()
    application = Application.objects.get(pk=offer.application_id)
    assert offer.state == Offer.State.DECLINED
    assert application.status == Application.Status.QUEUED and application.paused_at is None
    assert Place.objects.get(pk=offer.place_id).state == Place.State.PRIORITY


def test_an_expired_offer_cannot_be_accepted_and_the_page_says_why_with_409(logged_in, offer):
    with at(AFTER_DEADLINE):
        response = logged_in(offer.parent).post(url("offer", pk=offer.pk))
    assert response.status_code == OfferExpired.status
    with translation.override("ru"):
        assert str(OfferExpired.message) in response.content.decode()
    assert not Referral.objects.exists()


def test_a_forged_offer_id_or_another_parents_offer_is_404_and_changes_nothing(logged_in, offer):
    stranger = logged_in(ParentFactory())
    with at(ANSWERING):
        for path in (url("offer", pk=offer.pk), url("offer-decline", pk=offer.pk)):
            assert stranger.get(path).status_code == 404
            assert stranger.post(path).status_code == 404
        owner = logged_in(offer.parent)
        assert owner.get(url("offer", pk=offer.pk + 1000)).status_code == 404
        assert owner.post(url("offer-decline", pk=offer.pk + 1000)).status_code == 404
    offer.refresh_from_db()
    assert offer.state == Offer.State.LIVE


# --- Paused applications ----------------------------------------------------------------------------------------


@pytest.fixture
def paused(offer) -> Application:
    """The offer left unanswered: the 18:00 run after its deadline expires it and pauses the application."""
    run_daily(at=AFTER_DEADLINE.replace(hour=18), city=offer.application.city)
    application = Application.objects.get(pk=offer.application_id)
    assert application.paused_at is not None
    return application


def test_a_paused_application_shows_resume_and_resumes_once_keeping_its_time(logged_in, paused):
    client = logged_in(paused.parent)
    with at(AFTER_DEADLINE.replace(hour=19)):
        cabinet = client.get(url("cabinet"))
        assert url("cabinet-resume", number=paused.number) in cabinet.content.decode()
        assert client.get(url("cabinet-resume", number=paused.number)).status_code == 200
        response = client.post(url("cabinet-resume", number=paused.number))
        again = client.post(url("cabinet-resume", number=paused.number))
        after = client.get(url("cabinet"))
    assert response.status_code == 302 and again.status_code == 302
    resumed = Application.objects.get(pk=paused.pk)
    assert resumed.paused_at is None and resumed.applied_at == paused.applied_at
    assert url("cabinet-resume", number=paused.number) not in after.content.decode()


def test_after_28_days_the_cabinet_sends_the_parent_to_the_department_and_a_resume_is_refused_with_409(
    logged_in, paused
):
    client = logged_in(paused.parent)
    with at(paused.paused_at + dt.timedelta(days=29)):
        cabinet = client.get(url("cabinet"))
        response = client.post(url("cabinet-resume", number=paused.number))
    assert url("cabinet-resume", number=paused.number) not in cabinet.content.decode()
    assert "обратитесь в отдел образования" in text_of(cabinet)
    assert response.status_code == ResumeExpired.status
    with translation.override("ru"):
        assert str(ResumeExpired.message) in response.content.decode()
    assert Application.objects.get(pk=paused.pk).paused_at is not None


# --- Registry and protocol --------------------------------------------------------------------------------------


def test_the_registry_shows_offered_places_as_offered_without_personal_data(client, offer):
    application = offer.application
    with at(ANSWERING):
        response = client.get(url("registry", query=f"city={application.city.slug}"))
    html = response.content.decode()
    assert response.status_code == 200
    offered = html[html.index('class="data-table offered-table') :]
    assert offer.kindergarten.name_ru in offered and "Предложено" in offered
    for personal in (application.number, application.child.first_name, application.child.last_name):
        assert personal not in html


def test_the_cached_anonymous_registry_shows_the_places_the_18_00_run_offered_at_once(
    client, chooser, kindergartens, django_capture_on_commit_callbacks
):
    _parent, application = chooser
    first, *_ = kindergartens
    choices_set(application=application, kindergartens=[first], any_other=False, actor=application.parent, at=RELEASED)
    place_release(group=first.groups.get(), count=1, at=RELEASED)
    registry = url("registry", query=f"city={application.city.slug}")
    with at(RELEASED.replace(hour=12)):
        before = client.get(registry).content.decode()  # cached until the next event
    with django_capture_on_commit_callbacks(execute=True):  # the run's commit renews the registry's tokens
        run_daily(at=RUN, city=application.city)
    with at(ANSWERING):
        after = client.get(registry).content.decode()
    assert "offered-table" not in before
    assert "offered-table" in after
    assert "places-table" in before
    assert "places-table" not in after  # the only free place is offered now


def test_in_an_offer_mode_city_the_registry_says_priority_places_are_offered_and_shows_no_take_button(
    logged_in, chooser, kindergartens
):
    parent, application = chooser
    place_release(group=kindergartens[1].groups.get(), count=2, at=RELEASED)
    with at(RELEASED.replace(hour=12)):  # in priority access, before the 18:00 run
        response = logged_in(parent).get(url("registry", query=f"city={application.city.slug}&view=all"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="button take"' not in html
    assert "предлагаются автоматически" in text_of(response)


def test_the_protocol_day_publishes_the_allocation_and_the_inputs_hash(client, offer):
    application = offer.application
    with at(ANSWERING):
        response = client.get(url("protocol_day", city=application.city.slug, day="2024-05-02"))
    html = response.content.decode()
    assert response.status_code == 200
    section = html[html.index('id="allocation-title"') : html.index('id="hash-title"')]
    assert f"№&nbsp;{offer.place_id}" in section and offer.kindergarten.name_ru in section
    assert re.search(r'class="hash inputs-hash">[0-9a-f]{64}<', section)
    assert "verify_allocation" in section
    assert "Казахский" in section  # the group's language in words, not its code
    for personal in (application.number, application.child.first_name):
        assert personal not in html


def test_the_xlsx_of_an_allocating_day_has_the_allocation_and_the_inputs_hash(client, offer):
    application = offer.application
    path = url("protocol_download", city=application.city.slug, day="2024-05-02", fmt="xlsx")
    with at(ANSWERING):
        response = client.get(path)
    assert response.status_code == 200
    chronology, allocation, hashes = load_workbook(io.BytesIO(response.content)).worksheets
    assert allocation.title == "Распределение мест"
    header, *rows = allocation.iter_rows(values_only=True)
    assert header[-2:] == ("Место в очереди при распределении", "Номер детского сада в выборе")
    assert rows == [
        (offer.place_id, offer.kindergarten.code, offer.kindergarten.name_ru, 2021, "Казахский", "Общая", 1, 1)
    ]
    protocol = Protocol.objects.get(city=application.city, day=dt.date(2024, 5, 2))
    assert dict(hashes.iter_rows(values_only=True))["SHA-256 входных данных распределения"] == protocol.inputs_sha256
    assert allocation["A1"].font.bold and allocation.freeze_panes == "A2"
    workbook_text = str([list(sheet.iter_rows(values_only=True)) for sheet in (chronology, allocation, hashes)])
    assert application.number not in workbook_text and application.child.first_name not in workbook_text

    offer.kindergarten.name_ru = '=HYPERLINK("http://evil.example","x")'  # typed in the admin: never a formula
    offer.kindergarten.save()
    with at(ANSWERING):
        allocation = load_workbook(io.BytesIO(client.get(path).content)).worksheets[1]
    assert (allocation["C2"].value, allocation["C2"].data_type) == (offer.kindergarten.name_ru, "s")


# --- Languages ----------------------------------------------------------------------------------------------------


def untranslated(page_html: str, english_html: str, *, data: set[str]) -> list[str]:
    """The English left on a page, the data that reads the same in every language (numbers, names) aside."""
    return [
        s
        for s in untranslated_segments(page_html, english_html)
        if not any(value in s for value in data) and not re.fullmatch(r"[0-9a-f]{64}", s)  # names, numbers, hashes
    ]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_offer_pages_have_no_english_left_in_russian_and_kazakh(logged_in, offer, language):
    application = offer.application
    client = logged_in(offer.parent)
    child, parent = application.child, offer.parent
    data = {application.number, child.first_name, child.last_name, parent.first_name, parent.last_name}
    data |= {offer.kindergarten.address_ru}  # the factory's kindergarten has no English address: Russian shows
    pages = [
        ("cabinet", {}),
        ("cabinet-choices", {"number": application.number}),
        ("offer", {"pk": offer.pk}),
        ("offer-decline", {"pk": offer.pk}),
    ]
    with at(ANSWERING):
        for name, kwargs in pages:
            english = client.get(url(name, "en", **kwargs)).content.decode()
            translated = client.get(url(name, language, **kwargs))
            assert translated.status_code == 200, name
            assert untranslated(translated.content.decode(), english, data=data) == [], name
        registry = f"city={application.city.slug}"
        english = client.get(url("registry", "en", query=registry)).content.decode()
        translated = client.get(url("registry", language, query=registry)).content.decode()
        assert untranslated(translated, english, data=data) == []
        day = {"city": application.city.slug, "day": "2024-05-02"}
        english = client.get(url("protocol_day", "en", **day)).content.decode()
        translated = client.get(url("protocol_day", language, **day)).content.decode()
        assert untranslated(translated, english, data=data) == []
