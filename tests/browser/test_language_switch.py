"""The language switch (issue 13): from each prefix, with a cookie and a browser language that say otherwise,
tapping a language opens the same page, query string kept, under that language's prefix."""

import pytest
from django.conf import settings

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

NAMES = {"ru": "Русский", "kk": "Қазақ", "en": "English"}
ACCESS = {"ru": "Доступ", "kk": "Қол жеткізу", "en": "Access"}  # the filter's label
CONFLICTING = {"ru": "kk", "kk": "ru", "en": "kk"}  # the cookie's and the browser's language for each prefix


@pytest.mark.parametrize("prefix", ["ru", "kk", "en"])
def test_the_switch_swaps_the_prefix_of_this_page_whatever_the_cookie_and_accept_language_say(
    phone_world, chromium, live_server, prefix
):
    other = CONFLICTING[prefix]
    locale = {"ru": "ru-RU", "kk": "kk-KZ", "en": "en-US"}[other]
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale=locale)
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": other, "url": live_server.url}])
    page = context.new_page()
    query = "?city=temirtau&access=general"
    try:
        for target in [code for code in ("ru", "kk", "en") if code != prefix]:
            page.goto(f"{live_server.url}/{prefix}/registry/{query}")
            assert page.locator("html").get_attribute("lang") == prefix
            page.locator("nav.lang-switch").get_by_role("link", name=NAMES[target]).click()
            page.wait_for_url(f"{live_server.url}/{target}/registry/{query}")
            assert page.locator("html").get_attribute("lang") == target
            current = page.locator("nav.lang-switch a[aria-current='true']")
            assert current.get_attribute("hreflang") == target
            access = page.get_by_label(ACCESS[target], exact=True)
            assert access.input_value() == "general"
    finally:
        context.close()
