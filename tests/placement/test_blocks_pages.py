"""Cabinet block pages for department admins: find a parent, see the effects, block, lift (issue 5, admins)."""

import datetime as dt

import pytest
from django.contrib.admin import AdminSite
from django.contrib.admin import site as admin_site
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from accounts.admin import BlockStateFilter, CabinetBlockAdmin
from accounts.models import AuditEntry, CabinetBlock
from accounts.services.blocks import CabinetAlreadyBlocked, cabinet_unblock
from accounts.services.sessions import login_refusal
from placement.models import Contract, Place, Referral
from placement.services.blocks import cabinet_block
from placement.services.referrals import referral_enrol
from tests.clock import astana
from tests.factories import ParentFactory, StaffFactory, UserFactory, referral_for
from tests.i18n import untranslated_segments, url
from tests.rows import database_state

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 5, 2, 10, 0)
CLAIMED = astana(2024, 5, 7, 12, 0)  # general access; referrals valid until 2024-05-16 18:00
NOW = astana(2024, 5, 10, 11, 0)
PASSWORD = "correct-horse-battery"
REASON = "Передал доступ к кабинету посреднику"


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def parent():
    return ParentFactory(phone="+77010000001", username="3001")


def claim(group, parent, child_born: dt.date, minutes: int) -> Referral:
    """The parent's new child, born on `child_born`, takes a place of `group` (names without letters)."""
    return referral_for(
        group,
        released=RELEASED,
        claimed=CLAIMED,
        minutes=minutes,
        parent=parent,
        birth_date=child_born,
        last_name="1",
        first_name=str(minutes),
    )


@pytest.fixture
def live_referral(group, parent):
    return claim(group, parent, dt.date(2021, 3, 1), 1)


@pytest.fixture
def contract(group, parent):
    referral = claim(group, parent, dt.date(2021, 8, 8), 2)
    return referral_enrol(referral=referral, by=StaffFactory(kindergarten=group.kindergarten), at=CLAIMED)


def active_block(parent, department_admin) -> CabinetBlock:
    return cabinet_block(user=parent, by=department_admin, reason=REASON, at=NOW - dt.timedelta(days=1))


# --- Who may open the pages ------------------------------------------------------------------------------------


def every_endpoint(parent, block) -> list[tuple[str, str, dict]]:
    return [
        ("get", url("blocks") + "?q=%2B77010000001", {}),
        ("post", url("block-new"), {"user": parent.pk}),
        ("post", url("block-new"), {"user": parent.pk, "confirm": "1", "reason": REASON}),
        ("get", url("block-lift", pk=block.pk), {}),
        ("post", url("block-lift", pk=block.pk), {"reason": "Ошибка"}),
    ]


@pytest.mark.parametrize("index", range(5))
@pytest.mark.parametrize("role", ["parent", "staff", "staff-status-only"])
def test_everyone_but_department_admins_gets_403_and_nothing_changes(
    client, clock, parent, department_admin, live_referral, role, index
):
    other_parent = ParentFactory()
    block = active_block(other_parent, department_admin)
    user = {
        "parent": lambda: parent,
        "staff": lambda: StaffFactory(),
        "staff-status-only": lambda: UserFactory(role="parent", is_staff=True),
    }[role]()
    client.force_login(user)
    method, address, data = every_endpoint(parent, block)[index]
    before = database_state()
    response = getattr(client, method)(address, data)
    assert response.status_code == 403
    assert "error.html" in [t.name for t in response.templates]
    assert database_state() == before


@pytest.mark.parametrize("index", range(5))
def test_an_anonymous_visitor_is_sent_to_login(client, clock, parent, department_admin, index):
    block = active_block(ParentFactory(), department_admin)
    method, address, data = every_endpoint(parent, block)[index]
    before = database_state()
    response = getattr(client, method)(address, data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert database_state() == before


def test_a_superuser_may_open_the_blocks_page(client, clock):
    client.force_login(UserFactory(role="parent", is_superuser=True, is_staff=True))
    assert client.get(url("blocks")).status_code == 200


# --- Finding a parent ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["+77010000001", "8 701 000 00 01", "+7 (701) 000-00-01", "iin"])
def test_a_parent_is_found_exactly_by_phone_or_iin(client, clock, department_admin, parent, query):
    ParentFactory(phone="+77010000002")
    client.force_login(department_admin)
    response = client.get(url("blocks"), {"q": parent.iin if query == "iin" else query})
    assert response.status_code == 200
    assert response.context["found"] == [parent]
    html = response.content.decode()
    assert f'action="{url("block-new")}"' in html
    assert f'name="user" value="{parent.pk}"' in html


def test_a_partial_phone_finds_nobody_and_a_malformed_query_is_explained(client, clock, department_admin, parent):
    client.force_login(department_admin)
    assert client.get(url("blocks"), {"q": "+770100000"}).status_code == 400
    response = client.get(url("blocks"), {"q": "+77019999999"})
    assert response.context["found"] == []
    bad = client.get(url("blocks"), {"q": "Сапарова"})
    assert bad.status_code == 400
    assert bad.context["search"].errors["q"]


def test_staff_are_not_found_as_parents(client, clock, department_admin):
    StaffFactory(phone="+77010000009")
    client.force_login(department_admin)
    assert client.get(url("blocks"), {"q": "+77010000009"}).context["found"] == []


def test_a_blocked_parent_is_found_with_the_block_and_a_lift_link(client, clock, department_admin, parent):
    block = active_block(parent, department_admin)
    client.force_login(department_admin)
    html = client.get(url("blocks"), {"q": "+77010000001"}).content.decode()
    assert url("block-lift", pk=block.pk) in html
    assert f'name="user" value="{parent.pk}"' not in html


# --- Blocking --------------------------------------------------------------------------------------------------


def test_the_preview_lists_the_referrals_to_cancel_and_the_contracts_to_terminate_and_changes_nothing(
    client, clock, department_admin, parent, live_referral, contract
):
    client.force_login(department_admin)
    before = database_state()
    response = client.post(url("block-new"), {"user": parent.pk})
    assert response.status_code == 200
    assert response.context["referrals"] == [live_referral]
    assert response.context["contracts"] == [contract]
    html = response.content.decode()
    assert live_referral.number in html
    assert "16.05.2024 18:00" in html  # the referral's deadline, Astana time
    assert contract.referral.number in html
    with translation.override("ru"):
        assert str(live_referral.kindergarten.name) in html
    assert "10.11.2024 11:00" in html  # blocked until: 6 months
    assert 'name="reason"' in html and 'name="confirm"' in html
    assert database_state() == before
    # The same preview by a link (GET) reads only too.
    assert client.get(url("block-new"), {"user": parent.pk}).context["referrals"] == [live_referral]
    assert database_state() == before


def test_confirming_blocks_the_cabinet_returns_the_place_terminates_the_contract_and_refuses_the_login(
    client, clock, department_admin, parent, live_referral, contract
):
    client.force_login(department_admin)
    response = client.post(url("block-new"), {"user": parent.pk, "confirm": "1", "reason": REASON}, follow=True)
    assert response.redirect_chain == [(url("blocks"), 302)]
    [message] = response.context["messages"]
    assert message.level_tag == "success" and "10.11.2024" in str(message)
    block = CabinetBlock.objects.get()
    assert (block.user, block.created_by, block.reason, block.starts_at) == (parent, department_admin, REASON, NOW)
    live_referral.refresh_from_db()
    contract.refresh_from_db()
    assert live_referral.status == Referral.Status.CANCELLED
    assert contract.status == Contract.Status.TERMINATED
    assert Place.objects.open_at(NOW).filter(pk=live_referral.place_id).exists()  # back in the registry
    assert AuditEntry.objects.filter(action="cabinet.block", actor=department_admin, target_id=str(block.pk)).exists()
    assert [b.pk for b in response.context["page"]] == [block.pk]

    assert REASON in str(login_refusal(parent))
    client.logout()
    login = client.post(reverse("accounts:login"), {"username": parent.username, "password": PASSWORD})
    assert login.status_code == 200  # the form again, not a redirect
    assert REASON in login.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_block_needs_a_reason_and_changes_nothing_without_one(client, clock, department_admin, parent, live_referral):
    client.force_login(department_admin)
    before = database_state()
    response = client.post(url("block-new"), {"user": parent.pk, "confirm": "1", "reason": "   "})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert response.context["referrals"] == [live_referral]  # the effects are shown again
    assert database_state() == before


def test_a_second_confirmation_does_not_stack_blocks(client, clock, department_admin, parent):
    client.force_login(department_admin)
    body = {"user": parent.pk, "confirm": "1", "reason": REASON}
    client.post(url("block-new"), body)
    client.post(url("block-new"), body)
    assert CabinetBlock.objects.count() == 1


def test_the_service_refuses_a_second_block_under_the_parents_lock(clock, department_admin, parent):
    """The check lives in cabinet_block, after the row lock, so two admins at once cannot stack blocks either."""
    cabinet_block(user=parent, by=department_admin, reason=REASON)
    with pytest.raises(CabinetAlreadyBlocked):
        cabinet_block(user=parent, by=department_admin, reason=REASON)
    assert CabinetBlock.objects.count() == 1
    assert AuditEntry.objects.filter(action="cabinet.block").count() == 1


def test_lifting_a_lifted_block_audits_nothing(clock, department_admin, parent):
    block = cabinet_block(user=parent, by=department_admin, reason=REASON)
    cabinet_unblock(block=block, by=department_admin, reason="Ошибка")
    cabinet_unblock(block=block, by=department_admin, reason="Ошибка")
    assert AuditEntry.objects.filter(action="cabinet.unblock").count() == 1


@pytest.mark.parametrize("user", ["", "abc", "staff", "missing"])
def test_only_a_parent_can_be_chosen_for_a_block(client, clock, department_admin, user):
    client.force_login(department_admin)
    value = {"staff": lambda: StaffFactory().pk, "missing": lambda: 999999}.get(user, lambda: user)()
    response = client.post(url("block-new"), {"user": value, "confirm": "1", "reason": REASON})
    assert response.status_code == 404
    assert CabinetBlock.objects.count() == 0


# --- Lifting ---------------------------------------------------------------------------------------------------


def test_lifting_needs_a_reason_then_lets_the_parent_log_in(client, clock, department_admin, parent):
    block = active_block(parent, department_admin)
    client.force_login(department_admin)
    page = client.get(url("block-lift", pk=block.pk))
    assert page.status_code == 200 and REASON in page.content.decode()
    refused = client.post(url("block-lift", pk=block.pk), {"reason": ""})
    assert refused.status_code == 400
    block.refresh_from_db()
    assert block.lifted_at is None

    response = client.post(url("block-lift", pk=block.pk), {"reason": "Ошибка оператора"}, follow=True)
    assert response.redirect_chain == [(url("blocks"), 302)]
    [message] = response.context["messages"]
    assert message.level_tag == "success"
    block.refresh_from_db()
    assert (block.lifted_at, block.lifted_by, block.lift_reason) == (NOW, department_admin, "Ошибка оператора")
    assert AuditEntry.objects.filter(action="cabinet.unblock", actor=department_admin).exists()
    assert login_refusal(parent) is None
    assert "Ошибка оператора" in response.content.decode()  # the list shows the lift and its reason


def test_a_lifted_block_is_not_lifted_again(client, clock, department_admin, parent):
    block = active_block(parent, department_admin)
    client.force_login(department_admin)
    client.post(url("block-lift", pk=block.pk), {"reason": "Ошибка"})
    client.post(url("block-lift", pk=block.pk), {"reason": "Ещё раз"})
    block.refresh_from_db()
    assert block.lift_reason == "Ошибка"
    assert AuditEntry.objects.filter(action="cabinet.unblock").count() == 1


# --- The list --------------------------------------------------------------------------------------------------


def test_the_list_shows_active_and_past_blocks_with_masked_phones(client, clock, department_admin, parent):
    old = cabinet_block(user=parent, by=department_admin, reason="Давняя", at=NOW - dt.timedelta(days=400))
    current = active_block(parent, department_admin)
    client.force_login(department_admin)
    response = client.get(url("blocks"))
    states = {block.pk: block.state for block in response.context["page"]}
    assert states == {old.pk: "ended", current.pk: "active"}
    html = response.content.decode()
    assert "+7701***0001" in html
    assert "+77010000001" not in html
    assert "Сапарова Айгерим" in html or "Айгерим Сапарова" in html


def test_the_list_links_to_the_audit_log(client, clock, department_admin):
    client.force_login(department_admin)
    html = client.get(url("blocks")).content.decode()
    audit = reverse("admin:accounts_auditentry_changelist")
    assert f'href="{audit}"' in html


# --- The admin list --------------------------------------------------------------------------------------------


def test_the_admin_list_of_blocks_is_read_only_and_filters_by_state(clock, department_admin, parent):
    old = cabinet_block(user=parent, by=department_admin, reason="Давняя", at=NOW - dt.timedelta(days=400))
    lifted = cabinet_block(user=ParentFactory(), by=department_admin, reason="Снята", at=NOW - dt.timedelta(days=3))
    lifted.lifted_at, lifted.lift_reason = NOW, "Ошибка"
    lifted.save()
    current = active_block(parent, department_admin)
    request = RequestFactory().get("/")
    request.user = department_admin
    model_admin = CabinetBlockAdmin(CabinetBlock, AdminSite())
    assert model_admin.has_view_permission(request) is True
    assert (model_admin.has_add_permission(request), model_admin.has_change_permission(request)) == (False, False)
    assert model_admin.has_delete_permission(request, current) is False
    assert model_admin.phone(current) == "+7701***0001"
    for value, expected in [("active", current), ("lifted", lifted), ("ended", old)]:
        state = BlockStateFilter(request, {"state": [value]}, CabinetBlock, model_admin)
        assert list(state.queryset(request, CabinetBlock.objects.all())) == [expected]


def test_the_admin_changelist_of_blocks_opens_when_registered(client, clock, department_admin, parent):
    if not admin_site.is_registered(CabinetBlock):
        pytest.skip("accounts/admin.py does not register CabinetBlockAdmin yet")
    active_block(parent, department_admin)
    client.force_login(department_admin)
    assert client.get(reverse("admin:accounts_cabinetblock_changelist")).status_code == 200


# --- Languages -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_block_pages_leave_no_english(client, clock, department_admin, parent, live_referral, contract, language):
    lifted = active_block(ParentFactory(first_name="5", last_name="6"), department_admin)
    client.force_login(department_admin)
    client.post(url("block-lift", pk=lifted.pk), {"reason": "7"})
    other = active_block(ParentFactory(first_name="8", last_name="9", phone="+77010000003"), department_admin)
    # Data are the same in every language: the parent's name, the referral numbers, the reasons.
    data = {parent.first_name, parent.last_name, parent.get_full_name(), REASON}
    data |= {live_referral.number, contract.referral.number}

    def check(method: str, name: str, body=None, **kwargs):
        english = getattr(client, method)(url(name, "en", **kwargs), body or {}).content.decode()
        translated = getattr(client, method)(url(name, language, **kwargs), body or {})
        assert translated.status_code in (200, 400, 403)
        assert [s for s in untranslated_segments(translated.content.decode(), english) if s not in data] == []

    check("get", "blocks", {"q": "+77010000001"})
    check("get", "blocks", {"q": "+77010000003"})
    check("get", "blocks", {"q": "abc"})
    check("post", "block-new", {"user": parent.pk})
    check("post", "block-new", {"user": parent.pk, "confirm": "1", "reason": ""})
    check("get", "block-lift", pk=other.pk)
    check("get", "block-lift", pk=lifted.pk)
    client.force_login(parent)
    check("get", "blocks")
