"""A parent on a phone logs in by SMS in Kazakh, takes a general place from the registry, confirms, prints the
referral; then the kindergarten's staff log in with their password and enrol the child (issue 5)."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from placement.models import Contract, Referral
from placement.services.places import place_release
from schedules.calendar import ASTANA
from tests.clock import astana
from tests.factories import (
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    GroupFactory,
    KindergartenFactory,
    ParentFactory,
    RepresentationFactory,
    StaffFactory,
)
from tests.sms import browser_sms_login

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PHONE = "+77015550188"
STAFF_PASSWORD = "correct-horse-battery"


def kk(name: str, **kwargs) -> str:
    with translation.override("kk"):
        return reverse(name, kwargs=kwargs or None)


@pytest.fixture
def situation():
    """A general place (released 8 days ago) of a Temirtau kindergarten, and a confirmed parent in the queue."""
    city = CityFactory(temirtau=True)
    kindergarten = KindergartenFactory(city=city, code="K-101", name_ru="Солнышко", name_kk="Күншуақ")
    group = GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk", group_type="general")
    [place] = place_release(group=group, count=1, at=timezone.now() - dt.timedelta(days=8))
    parent = ParentFactory(phone=PHONE, first_name="Айгерим", last_name="Сапарова")
    child = ChildFactory(last_name="Сапаров", first_name="Арман", birth_date=dt.date(2021, 6, 1))
    RepresentationFactory(parent=parent, child=child)
    application = ApplicationFactory(parent=parent, child=child, city=city, applied_at=astana(2023, 3, 1, 9))
    staff = StaffFactory(username="kunshuaq", kindergarten=kindergarten)
    return place, parent, application, staff


def test_parent_takes_a_place_in_kazakh_prints_the_referral_and_the_staff_enrol_the_child(
    browser_page, live_server, situation
):
    place, _parent, application, staff = situation
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})

    # SMS login in Kazakh.
    browser_sms_login(page, live_server.url, phone=PHONE, typed="8 701 555 01 88", language="kk")

    # The registry shows a "take" button on the general place, for Арман (2021), never the IIN.
    page.goto(live_server.url + kk("placement:registry") + "?city=temirtau")
    row = page.locator(f'tr[data-place="{place.pk}"]')
    take = row.locator(f'a.take[data-application="{application.number}"]')
    assert "Арман (2021)" in take.inner_text()
    assert application.child.iin not in page.content()
    take.click()

    # The confirmation step, then the referral page.
    page.wait_for_url(re.compile(r".*/kk/places/\d+/claim/.*"))
    assert "Күншуақ" in page.locator("main").inner_text()
    page.locator('main form[method="post"] button[type="submit"]').click()
    page.wait_for_url(re.compile(r".*/kk/cabinet/referrals/R-[0-9A-Z-]+/$"))
    referral = Referral.objects.get(application=application)
    deadline = timezone.localtime(referral.valid_until, ASTANA).strftime("%d.%m.%Y %H:%M")
    main = page.locator("main").inner_text()
    assert referral.number in main and deadline in main and "Сапаров Арман" in main
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # The print version.
    page.locator('main a[href="?print=1"]').click()
    page.wait_for_url("**?print=1")
    printed = page.locator("main").inner_text()
    assert referral.number in printed and deadline in printed
    assert page.locator(".site-nav").count() == 0

    # The kindergarten's staff log in with the password and enrol the child from their referrals page.
    page.context.clear_cookies()
    page.goto(live_server.url + kk("accounts:login"))
    page.locator('input[name="username"]').fill(staff.username)
    page.locator('input[name="password"]').fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.locator('main form button[type="submit"]').click()
    page.goto(live_server.url + kk("placement:staff-referrals"))
    assert page.locator("html").get_attribute("lang") == "kk"
    enrol = page.locator(f'form[action$="/{referral.number}/enrol/"]')
    with page.expect_navigation():
        enrol.locator('button[type="submit"]').click()
    referral.refresh_from_db()
    assert referral.status == Referral.Status.ENROLLED
    assert Contract.objects.get(referral=referral).enrolled_by == staff
