"""axe-core (bundled by axe-playwright-python) on the portal's pages at 390 and 1366 px: public, parent, staff and
an admin change form, with no violation (issue 13, Done when; STYLE.md: accessibility is tested, not assumed)."""

import datetime as dt

import pytest
from axe_playwright_python.sync_playwright import Axe

from schedules.models import CalendarOverride
from tests.browser.conftest import DESKTOP, PHONE
from tests.factories import AdminFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def audited_pages(world, admin) -> list[tuple[str, str, object]]:
    """(what, path, logged-in user): fifteen pages of every kind of reader."""
    override = CalendarOverride.objects.create(
        date=dt.date(world.schedule_year, 12, 31), kind="holiday", legal_act="Постановление Правительства № 1"
    )
    day = world.protocol_day.isoformat()
    return [
        ("home", "/ru/", None),
        ("registry", "/kk/registry/", None),
        ("protocol list", "/ru/protocol/", None),
        ("protocol day", f"/kk/protocol/temirtau/{day}/", None),
        ("schedule", f"/ru/schedule/temirtau/{world.schedule_year}/", None),
        ("queue lookup", f"/kk/queue/?number={world.application.number}", None),
        ("SMS login", "/ru/accounts/sms/", None),
        ("parent: registry", "/ru/registry/", world.parent),
        ("parent: cabinet", "/kk/cabinet/", world.parent),
        ("parent: add a child", "/ru/cabinet/children/add/", world.parent),
        ("parent: referral", f"/ru/cabinet/referrals/{world.referral.number}/", world.parent),
        ("staff: groups and release", "/kk/staff/", world.staff),
        ("staff: referrals", "/ru/staff/referrals/", world.staff),
        ("staff: live places", "/ru/staff/places/", world.staff),
        ("admin: a change form", f"/ru/admin/schedules/calendaroverride/{override.pk}/change/", admin),
    ]


def audited_offer_pages(world) -> list[tuple[str, str, object]]:
    """Offer mode's pages (issue 14), in Kazakh and Russian."""
    offer, number, day = world.offer, world.application.number, world.offer_day.isoformat()
    return [
        ("offer: cabinet", "/kk/cabinet/", world.parent),
        ("offer: choices", f"/ru/cabinet/applications/{number}/choices/", world.parent),
        ("offer: the offer", f"/kk/cabinet/offers/{offer.pk}/", world.parent),
        ("offer: decline", f"/ru/cabinet/offers/{offer.pk}/decline/", world.parent),
        ("offer: registry", "/kk/registry/?city=oskemen", None),
        ("offer: protocol", f"/ru/protocol/oskemen/{day}/", None),
    ]


@pytest.mark.parametrize("size", [PHONE, DESKTOP], ids=["390px", "1366px"])
def test_axe_finds_no_violation_on_public_parent_staff_and_admin_pages(phone_world, offer_world, open_page, size):
    admin = AdminFactory(username="admin-1", is_superuser=True)
    axe = Axe()
    found = {}
    for what, path, user in audited_pages(phone_world, admin) + audited_offer_pages(offer_world):
        page = open_page(path, size=size, user=user)
        results = axe.run(page)
        violations = results.response["violations"]
        if violations:
            found[what] = [
                (v["id"], v["impact"], [node["target"] for node in v["nodes"]][:3]) for v in violations
            ]
        page.context.close()
    assert found == {}
