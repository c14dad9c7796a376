"""Staff pages: the referrals to one's kindergarten, enrolment, the enrolled children (issue 5, staff)."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import AuditEntry
from placement.models import Application, Contract, Place, PlaceEvent, Referral
from placement.services.blocks import cabinet_block
from placement.services.referrals import referral_decline
from tests.clock import astana, at
from tests.factories import AdminFactory, referral_for
from tests.i18n import untranslated_segments, url
from tests.rows import database_state

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)  # priority until Mon 2024-05-06 18:00
CLAIMED = astana(2024, 5, 7, 12, 0)  # general access; the referral is valid until Thu 2024-05-16 18:00
DEADLINE = astana(2024, 5, 16, 18, 0)
WITHIN_VALIDITY = astana(2024, 5, 10, 11, 0)
AFTER_DEADLINE = DEADLINE + dt.timedelta(minutes=1)


@pytest.fixture
def now():
    return WITHIN_VALIDITY


@pytest.fixture
def referral(group):
    return referral_for(
        group,
        released=RELEASED,
        claimed=CLAIMED,
        last_name="Сапаров",
        first_name="Арман",
        middle_name="Ерланұлы",
        birth_date=dt.date(2021, 3, 1),
    )


def enrol_url(referral: Referral, language: str = "ru") -> str:
    return url("staff-referral-enrol", language, number=referral.number)


# --- The list --------------------------------------------------------------------------------------------------


def test_staff_see_the_valid_referrals_with_the_child_and_the_deadline_in_astana_time(client, clock, staff, referral):
    client.force_login(staff)
    response = client.get(url("staff-referrals"))
    assert response.status_code == 200
    assert response.context["referrals"] == [referral]
    html = response.content.decode()
    assert referral.number in html
    assert "Сапаров Арман Ерланұлы" in html
    assert "01.03.2021" in html
    assert "07.05.2024 12:00" in html and "16.05.2024 18:00" in html
    assert referral.child.iin not in html  # never the IIN in the list
    assert f'action="{enrol_url(referral)}"' in html
    assert html.count('type="submit"') >= 1


def test_each_referral_shows_the_parents_phone_to_call(client, clock, staff, referral):
    """Issue 13: staff reach the parent about the documents or a near deadline."""
    referral.parent.phone = "+77015550177"
    referral.parent.save(update_fields=["phone"])
    client.force_login(staff)
    html = client.get(url("staff-referrals")).content.decode()
    row = html[html.index(f'data-referral="{referral.number}"') :].split("</tr>", 1)[0]
    assert '<a class="phone nowrap" href="tel:+77015550177">+7 701 555 01 77</a>' in row
    assert "Сапарова Айгерим" in row


def test_a_referral_of_a_parent_without_a_phone_says_so(client, clock, staff, referral):
    referral.parent.phone = None
    referral.parent.save(update_fields=["phone"])
    client.force_login(staff)
    with translation.override("ru"):
        html = client.get(url("staff-referrals")).content.decode()
    assert 'href="tel:' not in html
    assert "телефон в кабинете не указан" in html


def test_the_referrals_page_is_in_the_staff_menu(client, clock, staff):
    client.force_login(staff)
    html = client.get(url("staff-home")).content.decode()
    assert f'href="{url("staff-referrals")}"' in html


def test_staff_see_only_their_own_kindergartens_referrals(client, clock, staff, other_staff, referral):
    other_group = other_staff.kindergarten.groups.get()
    theirs = referral_for(other_group, released=RELEASED, claimed=CLAIMED, minutes=5)
    client.force_login(other_staff)
    response = client.get(url("staff-referrals"))
    assert response.context["referrals"] == [theirs]
    assert referral.number not in response.content.decode()


def test_a_referral_past_its_deadline_is_no_longer_offered_for_enrolment(client, staff, referral):
    client.force_login(staff)
    with at(AFTER_DEADLINE):
        response = client.get(url("staff-referrals"))
    assert response.context["referrals"] == []


# --- Enrolment -------------------------------------------------------------------------------------------------


def test_staff_enrol_within_validity_creating_the_contract_and_the_enrolled_event(client, clock, staff, referral):
    client.force_login(staff)
    response = client.post(enrol_url(referral), follow=True)
    assert response.redirect_chain == [(url("staff-referrals"), 302)]
    referral.refresh_from_db()
    place = Place.objects.get(pk=referral.place_id)
    contract = Contract.objects.get(referral=referral)
    assert referral.status == Referral.Status.ENROLLED
    assert place.state == Place.State.ENROLLED
    assert (contract.status, contract.enrolled_by, contract.enrolled_at) == (
        Contract.Status.ACTIVE,
        staff,
        WITHIN_VALIDITY,
    )
    assert place.events.filter(kind=PlaceEvent.Kind.ENROLLED, by=staff).exists()
    assert Application.objects.get(pk=referral.application_id).status == Application.Status.ENROLLED
    assert AuditEntry.objects.filter(action="referral.enrol", actor=staff).exists()
    [message] = response.context["messages"]
    assert message.level_tag == "success" and referral.number in str(message)
    # The child now appears among the enrolled children, and no longer among the referrals.
    assert response.context["referrals"] == []
    assert list(response.context["page"]) == [contract]


def test_enrolment_after_the_deadline_is_refused_with_409_and_changes_nothing(client, staff, referral):
    client.force_login(staff)
    before = database_state()
    with at(AFTER_DEADLINE):
        response = client.post(enrol_url(referral))
    assert response.status_code == 409
    [message] = response.context["messages"]
    assert message.level_tag == "error"
    assert database_state() == before


@pytest.mark.parametrize("ending", ["declined", "enrolled", "cancelled"])
def test_a_referral_that_is_no_longer_live_cannot_be_enrolled(client, clock, staff, referral, ending):
    if ending == "declined":
        referral_decline(referral=referral, by=referral.parent, at=WITHIN_VALIDITY)
    elif ending == "enrolled":
        client.force_login(staff)
        client.post(enrol_url(referral))
    else:
        cabinet_block(user=referral.parent, by=AdminFactory(), reason="Передал доступ", at=WITHIN_VALIDITY)
    client.force_login(staff)
    before = database_state()
    response = client.post(enrol_url(referral))
    assert response.status_code == 409
    assert database_state() == before


def test_another_kindergartens_staff_get_403_and_nothing_changes(client, clock, other_staff, referral):
    client.force_login(other_staff)
    before = database_state()
    response = client.post(enrol_url(referral))
    assert response.status_code == 403
    assert "error.html" in [t.name for t in response.templates]
    assert database_state() == before


def test_another_kindergartens_staff_cannot_list_it_by_asking_for_it(client, clock, staff, other_staff, referral):
    client.force_login(other_staff)
    response = client.get(url("staff-referrals") + f"?kindergarten={staff.kindergarten_id}")
    assert response.status_code == 403
    assert referral.number not in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_parent_gets_403_and_nothing_changes(client, clock, referral, method):
    client.force_login(referral.parent)
    before = database_state()
    address = url("staff-referrals") if method == "get" else enrol_url(referral)
    response = getattr(client, method)(address)
    assert response.status_code == 403
    assert database_state() == before


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_anonymous_visitor_is_sent_to_login_and_nothing_changes(client, clock, referral, method):
    before = database_state()
    address = url("staff-referrals") if method == "get" else enrol_url(referral)
    response = getattr(client, method)(address)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert database_state() == before


def test_an_unknown_referral_number_is_404(client, clock, staff, referral):
    client.force_login(staff)
    response = client.post(url("staff-referral-enrol", number="R-AAAA-BBBB-CCCC"))
    assert response.status_code == 404
    assert Contract.objects.count() == 0


def test_a_department_admin_enrols_for_the_kindergarten_they_picked(client, clock, kindergarten, referral):
    admin = AdminFactory(username="2003")
    client.force_login(admin)
    assert "placement/staff/choose.html" in [t.name for t in client.get(url("staff-referrals")).templates]
    scope = f"?kindergarten={kindergarten.pk}"
    page = client.get(url("staff-referrals") + scope)
    assert f'action="{enrol_url(referral)}{scope}"' in page.content.decode()
    response = client.post(enrol_url(referral) + scope)
    assert response.status_code == 302
    assert response["Location"] == url("staff-referrals") + scope
    assert Contract.objects.get(referral=referral).enrolled_by == admin


def test_a_department_admin_acting_on_another_kindergarten_cannot_enrol_its_referral(
    client, clock, referral, other_staff
):
    client.force_login(AdminFactory())
    response = client.post(enrol_url(referral) + f"?kindergarten={other_staff.kindergarten_id}")
    assert response.status_code == 403
    assert Contract.objects.count() == 0


def test_a_terminated_contract_is_listed_with_its_reason(client, clock, staff, referral):
    client.force_login(staff)
    client.post(enrol_url(referral))
    cabinet_block(user=referral.parent, by=AdminFactory(), reason="Передал доступ", at=WITHIN_VALIDITY)
    contract = Contract.objects.get()
    response = client.get(url("staff-referrals"))
    html = response.content.decode()
    assert contract.status == Contract.Status.TERMINATED
    with translation.override("ru"):
        assert str(Contract.Status.TERMINATED.label) in html
    assert contract.termination_reason == "cabinet_blocked"  # the portal's own reason: a code, shown in words
    assert "Личный кабинет заблокирован" in html and "cabinet_blocked" not in html


# --- Languages -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_referrals_page_leaves_no_english(client, clock, staff, group, language):
    # Data (numbers, names) are the same in every language; child names without letters keep the check strict.
    live = referral_for(group, released=RELEASED, claimed=CLAIMED, last_name="1", first_name="2", middle_name="")
    enrolled = referral_for(
        group, released=RELEASED, claimed=CLAIMED, minutes=1, last_name="3", first_name="4", middle_name=""
    )
    client.force_login(staff)
    client.post(enrol_url(enrolled))
    english = client.get(url("staff-referrals", "en")).content.decode()
    translated = client.get(url("staff-referrals", language))
    assert translated.status_code == 200
    data = {live.number, enrolled.number, " ".join(filter(None, (live.parent.last_name, live.parent.first_name)))}
    assert [s for s in untranslated_segments(translated.content.decode(), english) if s not in data] == []
    # The refusal (409) too.
    with at(AFTER_DEADLINE):
        english = client.post(enrol_url(live, "en")).content.decode()
        translated = client.post(enrol_url(live, language)).content.decode()
    assert [s for s in untranslated_segments(translated, english) if s not in data] == []
