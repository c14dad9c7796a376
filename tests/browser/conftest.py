"""Browser fixtures for the phone-first checks (issue 13): one chromium per test module, a new context (its own
cookies, viewport and language) per page, and a small city whose places, queue, referrals and protocol are timed
from today, so the live server (a thread of this process, on the real clock) shows every key fact."""

import datetime as dt
import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.utils import timezone

from placement.services.claims import place_claim
from placement.services.daily import run_daily
from placement.services.places import place_release
from schedules.calendar import add_working_days, astana, at_astana
from tests.factories import (
    ApplicationFactory,
    ChildFactory,
    CityFactory,
    CohortWindowFactory,
    GroupFactory,
    KindergartenFactory,
    KindergartenShiftFactory,
    ParentFactory,
    RepresentationFactory,
    StaffFactory,
    SummerScheduleFactory,
)

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
# As tests/conftest.py's browser_page: headless in a container, no network of chromium's own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
CHROMIUM_ARGS += ["--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def chromium(chromium_path):
    """One headless chromium for all the browser tests of a module (a launch costs seconds), each test opening
    contexts of its own. Module-scoped, not session-scoped: Playwright's event loop, and the permission it needs
    to let the ORM run beside it, end with the module, so no later test (or process it starts) inherits them."""
    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if before is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = before


@pytest.fixture
def open_page(chromium, live_server):
    """open_page(path, language=..., size=PHONE, user=None): a fresh context (cookies, viewport, Accept-Language),
    logged in as `user` when given, on `path` of the live server. Contexts are closed after the test."""
    contexts = []

    def opener(path: str, *, language: str = "ru", size: dict = PHONE, user=None):
        locale = {"ru": "ru-RU", "kk": "kk-KZ", "en": "en-US"}[language]
        context = chromium.new_context(viewport=size, locale=locale)
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            assert client.session[SESSION_KEY] == str(user.pk)
            context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status < 500, path
        return page

    yield opener
    for context in contexts:
        context.close()


@dataclass
class PhoneWorld:
    city: object
    parent: object
    application: object
    referral: object
    staff: object
    protocol_day: dt.date
    schedule_year: int


@pytest.fixture
def phone_world(transactional_db) -> PhoneWorld:
    """Temirtau today: Kazakh places of the 3-year-olds in general access since last week, new ones in priority
    access, a parent whose child is first in the queue (may take them) and whose second child holds a referral to
    another kindergarten, that kindergarten's staff, this year's summer schedule with a shifted kindergarten, and
    the protocol published up to now. Long real names, as on the real portal."""
    now = timezone.now()
    today = astana(now).date()
    year = today.year
    cohort = year - 3

    def working(offset: int, hour: int = 10) -> dt.datetime:
        return at_astana(add_working_days(today, offset), dt.time(hour))

    city = CityFactory(slug="temirtau", name_ru="Темиртау", name_kk="Теміртау", name_en="Temirtau")
    balapan = KindergartenFactory(
        city=city, code="005", name_ru="Ясли-сад «Балапан»", name_kk="«Балапан» бөбекжай-бақшасы",
        name_en="Balapan Nursery and Kindergarten", address_ru="Темиртау, пр. Металлургов, 18",
        address_kk="Теміртау, Металлургтер даңғылы, 18",
    )  # fmt: skip
    sunny = KindergartenFactory(
        city=city, code="003", name_ru="Детский сад «Солнышко»", name_kk="«Солнышко» балабақшасы",
        name_en="Solnyshko Kindergarten", address_ru="Темиртау, ул. Фурманова, 7",
        address_kk="Теміртау, Фурманов көшесі, 7",
    )  # fmt: skip
    kazakh = GroupFactory(
        kindergarten=balapan, birth_year=cohort, language="kk",
        name_ru="Младшая группа (казахский язык)", name_kk="Кіші топ (қазақ тілі)", name_en="Junior group (Kazakh)",
    )  # fmt: skip
    russian = GroupFactory(
        kindergarten=sunny, birth_year=cohort, language="ru",
        name_ru="Младшая группа (русский язык)", name_kk="Кіші топ (орыс тілі)", name_en="Junior group (Russian)",
    )  # fmt: skip
    place_release(group=kazakh, count=4, at=working(-7))
    place_release(group=kazakh, count=2, at=working(-1))
    taken, *_ = place_release(group=russian, count=3, at=working(-1, 11))

    schedule = SummerScheduleFactory(city=city, year=year, campaign_start=dt.date(year, 1, 1))
    later = add_working_days(today, 10)
    for age in (2, 4, 5):  # the cohorts with places above have no window: they were released into priority at once
        window = CohortWindowFactory(schedule=schedule, birth_year=year - age, age=age, priority_start=later)
    KindergartenShiftFactory(
        window=window, kindergarten=sunny, shifted_start=add_working_days(later, 5),
        reason_ru="Текущий ремонт групповых помещений", reason_kk="Топ бөлмелерін ағымдағы жөндеу",
    )  # fmt: skip

    parent = ParentFactory(phone="+77015550177", first_name="Айгерим", last_name="Сапарова")
    first = ChildFactory(first_name="Арман", last_name="Сапаров", birth_date=dt.date(cohort, 2, 12))
    second = ChildFactory(first_name="Дана", last_name="Сапарова", birth_date=dt.date(cohort, 3, 3))
    applications = []
    for minutes, child, language in ((0, first, "kk"), (1, second, "ru")):
        RepresentationFactory(parent=parent, child=child, status="confirmed")
        applications.append(
            ApplicationFactory(
                parent=parent, child=child, city=city, language=language,
                applied_at=at_astana(dt.date(cohort, 4, 1), dt.time(9, minutes)),
            )
        )  # fmt: skip
    referral, _ = place_claim(place=taken, application=applications[1], by=parent, at=working(-1, 15))
    run_daily(at=now, city=city)
    return PhoneWorld(
        city=city,
        parent=parent,
        application=applications[0],
        referral=referral,
        staff=StaffFactory(kindergarten=sunny, username="staff-003", first_name="Гульнара"),
        protocol_day=astana(working(-7)).date(),
        schedule_year=year,
    )


@dataclass
class OfferWorld:
    city: object
    parent: object
    application: object
    offer: object
    offer_day: dt.date


@pytest.fixture
def offer_world(phone_world) -> OfferWorld:
    """Beside Temirtau, Ust-Kamenogorsk in offer mode (issue 14): a parent whose child ranked two kindergartens with
    long names, places released on the last working day and offered by that day's 18:00 run, so the cabinet shows
    the offer card (its deadline still ahead) and the registry and that day's protocol show the offered place."""
    from placement.models import City, Offer
    from placement.services.choices import choices_set

    now = timezone.now()
    today = astana(now).date()
    cohort = today.year - 3
    released = at_astana(add_working_days(today, -1), dt.time(10))
    city = CityFactory(
        slug="oskemen", name_ru="Усть-Каменогорск", name_kk="Өскемен", name_en="Ust-Kamenogorsk",
        allocation_mode=City.AllocationMode.OFFER,
    )  # fmt: skip
    first = KindergartenFactory(
        city=city, code="301", name_ru="Ясли-сад «Еркетай» с углублённым изучением казахского языка",
        name_kk="Қазақ тілін тереңдетіп оқытатын «Еркетай» бөбекжай-бақшасы", name_en="Yerketai Nursery",
    )  # fmt: skip
    second = KindergartenFactory(
        city=city, code="302", name_ru="Детский сад «Айгөлек»", name_kk="«Айгөлек» балабақшасы", name_en="Aigolek",
    )  # fmt: skip
    for kindergarten in (first, second):
        GroupFactory(
            kindergarten=kindergarten, birth_year=cohort, language="kk",
            name_ru="Младшая группа (казахский язык)", name_kk="Кіші топ (қазақ тілі)", name_en="Junior group (Kazakh)",
        )  # fmt: skip
    parent = ParentFactory(phone="+77020000001", first_name="Жанна", last_name="Сейтказина")
    child = ChildFactory(first_name="Алинур", last_name="Сейтказин", birth_date=dt.date(cohort, 1, 4))
    RepresentationFactory(parent=parent, child=child, status="confirmed")
    application = ApplicationFactory(
        parent=parent, child=child, city=city, language="kk", applied_at=at_astana(dt.date(cohort, 2, 1), dt.time(9))
    )
    choices_set(application=application, kindergartens=[first, second], any_other=True, actor=parent, at=released)
    place_release(group=first.groups.get(), count=2, at=released)
    run_daily(at=now, city=city)
    return OfferWorld(
        city=city,
        parent=parent,
        application=application,
        offer=Offer.objects.get(application=application, state=Offer.State.LIVE),
        offer_day=astana(released).date(),
    )


# What "nothing scrolls sideways" means in the browser: the page is no wider than the window, no element is wider
# than it, and no box scrolls sideways inside it. Visually hidden text (clipped to 1 px) is left out.
OVERFLOW_SCRIPT = """() => {
  const width = window.innerWidth;
  const name = (el) => el.tagName.toLowerCase()
    + (el.className ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '');
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  };
  const elements = [...document.querySelectorAll('body *')].filter(visible);
  return {
    width,
    page: document.scrollingElement.scrollWidth,
    wider: elements.filter((el) => el.getBoundingClientRect().width > width + 0.5).map(name),
    outside: elements.filter((el) => el.getBoundingClientRect().right > width + 0.5).map(name),
    scrolling: elements.filter((el) => {
      const style = getComputedStyle(el);
      return ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    }).map(name),
  };
}"""


def assert_nothing_scrolls_sideways(page) -> None:
    found = page.evaluate(OVERFLOW_SCRIPT)
    assert found["page"] <= found["width"], found
    assert found["wider"] == [] and found["outside"] == [] and found["scrolling"] == [], found


def assert_inside_the_viewport(page, selector: str) -> None:
    """Each element `selector` names is there and lies within the window's width (its key fact can be read)."""
    locator = page.locator(selector)
    assert locator.count() > 0, f"{selector} is not on {page.url}"
    width = page.viewport_size["width"]
    for index in range(locator.count()):
        box = locator.nth(index).bounding_box()
        assert box is not None, f"{selector} is not displayed on {page.url}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, (selector, box, page.url)
