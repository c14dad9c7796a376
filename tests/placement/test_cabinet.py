"""The parent's personal cabinet: children, applications and positions; add a child, apply, withdraw (issue 4)."""

import datetime as dt

import pytest
from django.test import Client

from accounts.models import AuditEntry, Child, LoginRecord, Representation
from placement.models import Application
from placement.selectors.queue import queue_position
from tests.clock import astana
from tests.factories import (
    AdminFactory,
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    KindergartenFactory,
    ParentFactory,
    RepresentationFactory,
    StaffFactory,
    serving,
    valid_iin,
)
from tests.i18n import untranslated_segments, url

pytestmark = pytest.mark.django_db

T0 = astana(2024, 3, 1, 9, 0)


@pytest.fixture
def city():
    return serving(CityFactory(temirtau=True))


@pytest.fixture
def parent_client(client, parent):
    client.force_login(parent)
    return client


def queued(*, city, at, birth_date=dt.date(2021, 3, 3), **kwargs) -> Application:
    """Someone else's queued application in the same cohort."""
    return ApplicationFactory(city=city, child=ChildFactory(birth_date=birth_date), applied_at=at, **kwargs)


def child_form(**overrides) -> dict:
    return {
        "iin": valid_iin(777),
        "last_name": "Сапарова",
        "first_name": "Дана",
        "middle_name": "",
        "birth_date": "2022-02-14",
        "kind": "parent",
        "document": "Свидетельство о рождении № 42",
        **overrides,
    }


def apply_form(child, city, /, **overrides) -> dict:
    return {
        "child": child.pk,
        "city": city.slug,
        "language": "kk",
        "group_type": "general",
        "privilege": "none",
        "privilege_document": "",
        **overrides,
    }


# --- Who may open it -------------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(url("cabinet"))
    assert response.status_code == 302
    assert "next=/ru/cabinet/" in response["Location"]


@pytest.mark.parametrize("user_factory", [AdminFactory, lambda: StaffFactory(kindergarten=KindergartenFactory())])
@pytest.mark.parametrize("name", ["cabinet", "cabinet-child-add", "cabinet-apply"])
def test_staff_and_admins_get_403_in_the_cabinet(client, user_factory, name):
    client.force_login(user_factory())
    assert client.get(url(name)).status_code == 403
    assert client.post(url(name), {}).status_code == 403


def test_staff_cannot_withdraw_a_parents_application(client, application):
    client.force_login(AdminFactory())
    response = client.post(url("cabinet-withdraw", number=application.number))
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == "queued"


# --- What the parent sees --------------------------------------------------------------------------------


def test_cabinet_lists_own_children_with_representation_status_and_rejection_reason(parent_client, parent, child):
    RepresentationFactory(
        parent=parent,
        child=ChildFactory(first_name="Ерлан"),
        status="rejected",
        decision_reason="Документ не читается",
    )
    RepresentationFactory(parent=parent, child=ChildFactory(first_name="Мадина"), status="pending")
    html = parent_client.get(url("cabinet")).content.decode()
    assert "Арман" in html and "01.06.2021" in html
    assert "Ерлан" in html and "Отклонено" in html and "Документ не читается" in html
    assert "Мадина" in html and "Ожидает подтверждения" in html


def test_cabinet_never_shows_another_familys_children_or_applications(parent_client, city, child):
    other = RepresentationFactory(child=ChildFactory(last_name="Чужой", first_name="Ребёнок"))
    foreign = ApplicationFactory(parent=other.parent, child=other.child, city=city)
    html = parent_client.get(url("cabinet")).content.decode()
    assert "Чужой" not in html and other.child.iin not in html and foreign.number not in html


def test_a_pending_representation_does_not_reveal_the_other_parents_application(parent_client, parent, city):
    """Someone who typed a known child's IIN gets a pending representation: not the family's applications."""
    mother = RepresentationFactory()
    application = ApplicationFactory(parent=mother.parent, child=mother.child, city=city)
    RepresentationFactory(parent=parent, child=mother.child, status="pending")
    assert application.number not in parent_client.get(url("cabinet")).content.decode()


def test_a_confirmed_second_parent_sees_the_childs_application(parent_client, parent, city):
    mother = RepresentationFactory()
    application = ApplicationFactory(parent=mother.parent, child=mother.child, city=city)
    RepresentationFactory(parent=parent, child=mother.child, status="confirmed")
    assert application.number in parent_client.get(url("cabinet")).content.decode()


def test_cabinet_shows_each_application_with_its_position_category_and_privilege_status(
    parent_client, parent, child, city
):
    queued(city=city, at=T0)
    mine = ApplicationFactory(
        parent=parent,
        child=child,
        city=city,
        applied_at=T0 + dt.timedelta(hours=1),
        privilege="priority",
        privilege_status="pending",
        privilege_document="Справка № 5",
    )
    response = parent_client.get(url("cabinet"))
    html = response.content.decode()
    assert mine.number in html and "Темиртау" in html and "2021" in html
    row = html[html.index(f'data-number="{mine.number}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="position key" data-label="Место в очереди"><strong>2</strong></td>' in row
    assert "Общая" in row  # ranks as general
    assert "Первоочередное право" in row or "Приоритетное право" in row
    assert "Ожидает подтверждения" in row


def test_addresses_in_the_cabinet_carry_no_iin_or_name(parent_client, parent, child, application):
    html = parent_client.get(url("cabinet")).content.decode()
    hrefs = [part.split('"', 1)[0] for part in html.split('href="')[1:]]
    assert hrefs
    for href in hrefs:
        assert child.iin not in href and "Арман" not in href and parent.iin not in href


def test_cabinet_gives_the_users_own_last_ten_logins_to_the_recent_logins_partial(parent_client, parent):
    for minute in range(12):
        LoginRecord.objects.create(user=parent, at=T0 + dt.timedelta(minutes=minute), method="otp", ip="10.0.0.1")
    LoginRecord.objects.create(user=ParentFactory(), at=T0 + dt.timedelta(hours=1), method="otp", ip="10.0.0.9")
    logins = parent_client.get(url("cabinet")).context["logins"]
    assert len(logins) == 10
    assert {login.user_id for login in logins} == {parent.pk}
    assert [login.at for login in logins] == sorted((login.at for login in logins), reverse=True)
    assert T0 not in [login.at for login in logins]  # the oldest ones are left out


# --- Adding a child --------------------------------------------------------------------------------------


def test_parent_adds_a_child_pending_confirmation(parent_client, parent):
    response = parent_client.post(url("cabinet-child-add"), child_form())
    assert response.status_code == 302 and response["Location"] == url("cabinet")
    representation = Representation.objects.get(parent=parent, child__iin=valid_iin(777))
    assert representation.status == "pending" and representation.kind == "parent"
    assert AuditEntry.objects.filter(action="representation.create", actor=parent).exists()
    html = parent_client.get(response["Location"]).content.decode()
    assert "Дана" in html and "Ожидает подтверждения" in html


@pytest.mark.parametrize("iin", ["123", "1234567890123", "12345678901x"])
def test_an_iin_of_the_wrong_length_is_told_once(parent_client, iin):
    """Issue 13: Django's length check and the IIN validator said the same thing twice."""
    response = parent_client.post(url("cabinet-child-add"), child_form(iin=iin))
    assert response.status_code == 400
    assert response.context["form"].errors["iin"] == ["ИИН состоит ровно из 12 цифр."]
    assert response.content.decode().count("ИИН состоит ровно из 12 цифр.") == 1


def test_an_iin_typed_with_spaces_is_accepted(parent_client, parent):
    iin = valid_iin(778)
    response = parent_client.post(url("cabinet-child-add"), child_form(iin=f"{iin[:6]} {iin[6:]}"))
    assert response.status_code == 302
    assert Representation.objects.filter(parent=parent, child__iin=iin).exists()


def test_an_invalid_iin_is_refused_with_the_validators_message(parent_client):
    iin = valid_iin(777)
    wrong = iin[:11] + str((int(iin[11]) + 1) % 10)
    response = parent_client.post(url("cabinet-child-add"), child_form(iin=wrong))
    assert response.status_code == 400
    assert response.context["form"].errors["iin"] == ["Этот ИИН недействителен: не совпадает контрольная цифра."]
    assert not Child.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"iin": "12345"}, "iin"),
        ({"iin": "abcdefghijkl"}, "iin"),
        ({"last_name": ""}, "last_name"),
        ({"birth_date": "31.02.2021"}, "birth_date"),
        ({"birth_date": "2009-12-31"}, "birth_date"),
        ({"kind": "neighbour"}, "kind"),
        ({"document": " "}, "document"),
    ],
)
def test_bad_child_input_is_shown_on_its_field_and_changes_nothing(parent_client, overrides, field):
    response = parent_client.post(url("cabinet-child-add"), child_form(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Representation.objects.exists()


def test_adding_the_same_child_twice_is_a_form_error(parent_client, parent, child):
    response = parent_client.post(
        url("cabinet-child-add"), child_form(iin=child.iin, birth_date=child.birth_date.isoformat())
    )
    assert response.status_code == 400
    assert "iin" in response.context["form"].errors
    assert Representation.objects.filter(parent=parent).count() == 1


# --- Applying --------------------------------------------------------------------------------------------


def test_parent_applies_and_sees_the_position(parent_client, parent, child, city):
    queued(city=city, at=T0)
    response = parent_client.post(url("cabinet-apply"), apply_form(child, city, language="any"))
    assert response.status_code == 302 and response["Location"] == url("cabinet")
    application = Application.objects.get(child=child)
    assert (application.parent, application.birth_year, application.language) == (parent, 2021, "any")
    page = parent_client.get(response["Location"])
    html = page.content.decode()
    assert application.number in html
    assert f"Заявление {application.number} в очереди, место 2." in html
    assert '<td class="position key" data-label="Место в очереди"><strong>2</strong></td>' in html


def test_apply_form_offers_only_own_children_that_are_not_rejected(parent_client, parent, child):
    rejected = RepresentationFactory(parent=parent, status="rejected", decision_reason="Нет документа").child
    foreign = RepresentationFactory().child
    choices = dict(parent_client.get(url("cabinet-apply")).context["form"].fields["child"].choices)
    assert child.pk in choices
    assert rejected.pk not in choices and foreign.pk not in choices


def test_a_privilege_without_its_document_is_a_field_error(parent_client, child, city):
    response = parent_client.post(url("cabinet-apply"), apply_form(child, city, privilege="extraordinary"))
    assert response.status_code == 400
    assert "privilege_document" in response.context["form"].errors
    assert not Application.objects.exists()


def test_a_claimed_privilege_ranks_as_general_until_confirmed(parent_client, child, city):
    parent_client.post(
        url("cabinet-apply"), apply_form(child, city, privilege="extraordinary", privilege_document="Справка № 1")
    )
    application = Application.objects.get(child=child)
    assert (application.privilege_status, application.queue_category) == ("pending", 2)
    html = parent_client.get(url("cabinet")).content.decode()
    assert "До подтверждения документа учитывается в общей очереди." in html


def test_double_click_on_apply_gets_the_already_in_queue_message_not_a_500(parent_client, child, city):
    first = parent_client.post(url("cabinet-apply"), apply_form(child, city))
    second = parent_client.post(url("cabinet-apply"), apply_form(child, city))
    assert first.status_code == 302
    assert second.status_code == 409
    assert second.context["form"].non_field_errors()
    assert Application.objects.filter(child=child).count() == 1


@pytest.mark.parametrize("whose", ["another_parents", "rejected", "unknown"])
def test_a_forged_child_id_is_404_and_changes_nothing(parent_client, parent, child, city, whose):
    if whose == "another_parents":
        forged = RepresentationFactory().child.pk
    elif whose == "rejected":
        forged = RepresentationFactory(parent=parent, status="rejected", decision_reason="Нет").child.pk
    else:
        forged = 999_999
    response = parent_client.post(url("cabinet-apply"), apply_form(child, city, child=forged))
    assert response.status_code == 404
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"city": "atlantis"}, "city"),
        ({"language": "en"}, "language"),
        ({"group_type": "vip"}, "group_type"),
        ({"privilege": "royal"}, "privilege"),
        ({"child": "abc"}, "child"),
        ({"child": ""}, "child"),
    ],
)
def test_bad_apply_input_is_a_form_error_not_a_500(parent_client, child, city, overrides, field):
    response = parent_client.post(url("cabinet-apply"), apply_form(child, city, **overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not Application.objects.exists()


def test_apply_page_without_children_asks_to_add_one_first(parent_client):
    response = parent_client.get(url("cabinet-apply"))
    assert response.status_code == 200
    assert url("cabinet-child-add") in response.content.decode()


# --- Withdrawing -----------------------------------------------------------------------------------------


def test_withdrawal_asks_for_confirmation_then_the_others_move_up(parent_client, parent, child, city):
    mine = ApplicationFactory(parent=parent, child=child, city=city, applied_at=T0)
    behind = queued(city=city, at=T0 + dt.timedelta(hours=1))
    assert (queue_position(mine), queue_position(behind)) == (1, 2)

    confirm = parent_client.get(url("cabinet-withdraw", number=mine.number))
    assert confirm.status_code == 200
    mine.refresh_from_db()
    assert mine.status == "queued"  # a GET changes nothing

    response = parent_client.post(url("cabinet-withdraw", number=mine.number))
    assert response.status_code == 302 and response["Location"] == url("cabinet")
    mine.refresh_from_db()
    assert mine.status == "withdrawn" and queue_position(mine) is None
    assert queue_position(behind) == 1
    html = parent_client.get(url("cabinet")).content.decode()
    row = html[html.index(f'data-number="{mine.number}"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="position key" data-label="Место в очереди">—</td>' in row and "Отозвано" in row
    assert AuditEntry.objects.filter(action="application.withdraw", actor=parent).exists()


def test_withdrawing_twice_is_a_message_not_a_500(parent_client, application):
    parent_client.post(url("cabinet-withdraw", number=application.number))
    response = parent_client.post(url("cabinet-withdraw", number=application.number), follow=True)
    assert response.status_code == 200
    assert "Отозвать можно только заявление, которое стоит в очереди." in response.content.decode()


def test_the_number_may_be_typed_in_small_letters_without_dashes(parent_client, application):
    response = parent_client.post(url("cabinet-withdraw", number=application.number.replace("-", "").lower()))
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "withdrawn"


def test_another_familys_application_cannot_be_withdrawn(parent_client, city, child):
    other = RepresentationFactory()
    foreign = ApplicationFactory(parent=other.parent, child=other.child, city=city)
    assert parent_client.get(url("cabinet-withdraw", number=foreign.number)).status_code == 404
    assert parent_client.post(url("cabinet-withdraw", number=foreign.number)).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "queued"


def test_posts_without_the_csrf_token_are_refused(parent, child, city, application):
    client = Client(enforce_csrf_checks=True)
    client.force_login(parent)
    assert client.post(url("cabinet-withdraw", number=application.number)).status_code == 403
    assert client.post(url("cabinet-apply"), apply_form(child, city)).status_code == 403
    assert client.post(url("cabinet-child-add"), child_form()).status_code == 403
    application.refresh_from_db()
    assert application.status == "queued" and Application.objects.count() == 1


# --- Languages -------------------------------------------------------------------------------------------


@pytest.fixture
def letterless(parent, city):
    """Names and numbers without letters: the i18n check compares visible text with the English page."""
    parent.first_name = parent.last_name = ""
    parent.save()
    child = RepresentationFactory(parent=parent, child=ChildFactory(last_name="1", first_name="2")).child
    RepresentationFactory(parent=parent, child=ChildFactory(last_name="3", first_name="4"), status="pending")
    RepresentationFactory(
        parent=parent, child=ChildFactory(last_name="5", first_name="6"), status="rejected", decision_reason="7"
    )
    application = ApplicationFactory(
        parent=parent, child=child, city=city, privilege="priority", privilege_status="pending", privilege_document="8"
    )
    Application.objects.filter(pk=application.pk).update(number="1111-2222-3333")
    withdrawn = ApplicationFactory(parent=parent, child=child, city=CityFactory(), status="withdrawn")
    Application.objects.filter(pk=withdrawn.pk).update(number="4444-5555-6666")
    return child


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("cabinet", {}),
        ("cabinet-child-add", {}),
        ("cabinet-apply", {}),
        ("cabinet-withdraw", {"number": "1111-2222-3333"}),
    ],
)
def test_cabinet_pages_leave_no_english_in_russian_and_kazakh(parent_client, letterless, language, name, kwargs):
    english = parent_client.get(url(name, "en", **kwargs)).content.decode()
    translated = parent_client.get(url(name, language, **kwargs))
    assert translated.status_code == 200
    assert untranslated_segments(translated.content.decode(), english) == []


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_form_errors_and_refusals_leave_no_english(parent_client, letterless, city, language):
    bad_child = child_form(iin="123", last_name="", birth_date="x", kind="x", document="")
    english = parent_client.post(url("cabinet-child-add", "en"), bad_child).content.decode()
    translated = parent_client.post(url("cabinet-child-add", language), bad_child).content.decode()
    assert untranslated_segments(translated, english) == []

    wrong_iin = child_form(iin=valid_iin(5)[:11] + str((int(valid_iin(5)[11]) + 1) % 10))
    english = parent_client.post(url("cabinet-child-add", "en"), wrong_iin).content.decode()
    translated = parent_client.post(url("cabinet-child-add", language), wrong_iin).content.decode()
    assert untranslated_segments(translated, english) == []

    bad_apply = apply_form(letterless, city, language="x", privilege="priority")
    english = parent_client.post(url("cabinet-apply", "en"), bad_apply).content.decode()
    translated = parent_client.post(url("cabinet-apply", language), bad_apply).content.decode()
    assert untranslated_segments(translated, english) == []

    # The child already has an active application in this city: the refusal is translated too.
    again = apply_form(letterless, city)
    english = parent_client.post(url("cabinet-apply", "en"), again).content.decode()
    translated = parent_client.post(url("cabinet-apply", language), again)
    assert translated.status_code == 409
    assert untranslated_segments(translated.content.decode(), english) == []

    forbidden_english = Client()
    forbidden_english.force_login(AdminFactory())
    english = forbidden_english.get(url("cabinet", "en")).content.decode()
    translated = forbidden_english.get(url("cabinet", language)).content.decode()
    assert untranslated_segments(translated, english) == []


def test_another_parents_rejected_representation_does_not_hide_the_child_from_its_parent(parent_client, parent, child):
    RepresentationFactory(child=child, status="rejected", decision_reason="Не представитель")
    choices = dict(parent_client.get(url("cabinet-apply")).context["form"].fields["child"].choices)
    assert child.pk in choices
