"""What every page carries (issue 13): the language switch that keeps the page, a favicon, the support hours with
the weekday written as in a sentence, the public queue lookup in the menu, the translated 405 page, the admin's
name."""

import datetime as dt
import re

import pytest
import time_machine

from schedules.calendar import ASTANA
from tests.factories import CityFactory, StaffFactory
from tests.i18n import visible_text

pytestmark = pytest.mark.django_db


def switch_links(html: str) -> dict[str, str]:
    nav = html.split('class="lang-switch"', 1)[1].split("</nav>", 1)[0]
    return {code: href for href, code in re.findall(r'<a href="([^"]+)" hreflang="([a-z]+)"', nav)}


@pytest.mark.parametrize(
    ("page", "cookie", "accept"),
    [("/ru/registry/?city=temirtau&page=2", "kk", "kk"), ("/kk/protocol/?city=temirtau", "ru", "ru"),
     ("/en/schedule/", "kk", "ru")],
)  # fmt: skip
def test_the_language_switch_swaps_the_prefix_of_this_page_whatever_the_cookie_and_the_browser_say(
    client, settings, page, cookie, accept
):
    CityFactory(slug="temirtau")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
    response = client.get(page, HTTP_ACCEPT_LANGUAGE=accept)
    assert response.status_code == 200
    own = page.split("/")[1]
    rest = page.split("/", 2)[2]
    links = switch_links(response.content.decode())
    assert links == {code: f"/{code}/{rest}".replace("&", "&amp;") for code in ("ru", "kk", "en")}
    for code, href in links.items():
        followed = client.get(href.replace("&amp;", "&"), HTTP_ACCEPT_LANGUAGE=accept)
        assert followed.status_code == 200
        assert f'<html lang="{code}">' in followed.content.decode()
    assert f'hreflang="{own}" lang="{own}" aria-current="true"' in response.content.decode()


def test_every_page_names_its_favicon_and_the_old_address_leads_to_it(client):
    html = client.get("/ru/").content.decode()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"


@pytest.mark.parametrize(
    ("language", "expected"),
    [("ru", "Сейчас не работает, откроется понедельник, 9 декабря"), ("kk", "дүйсенбі"), ("en", "Monday, 9 December")],
)
def test_the_support_hours_write_the_weekday_in_lower_case_mid_sentence_in_russian_and_kazakh(
    client, language, expected
):
    with time_machine.travel(dt.datetime(2024, 12, 7, 12, 0, tzinfo=ASTANA), tick=False):  # a Saturday
        text = " ".join(visible_text(client.get(f"/{language}/").content.decode()))
    assert expected in text
    if language != "en":
        assert "Понедельник" not in text and "Дүйсенбі" not in text


def test_the_queue_lookup_is_in_the_public_menu(client):
    html = client.get("/kk/").content.decode()
    menu = html.split('class="wrap site-nav"', 1)[1].split("</nav>", 1)[0]
    assert 'href="/kk/queue/"' in menu


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_a_get_on_a_post_only_page_is_the_translated_405_page(client, language):
    client.force_login(StaffFactory())
    response = client.get(f"/{language}/staff/release/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "error.html" in [t.name for t in response.templates]
    assert {"ru": "Эту страницу нельзя открыть так", "kk": "Бұл бетті осылай ашуға болмайды"}[language] in html


def test_the_apis_405_stays_json(client):
    response = client.delete("/api/v1/registry/")
    assert response.status_code == 405
    assert response.json()["reason"]


def test_the_admin_is_called_indigo(admin_client):
    html = admin_client.get("/ru/admin/").content.decode()
    assert "<title>" in html and "| INDIGO</title>" in html
    assert '<a href="/ru/admin/">INDIGO</a>' in html
    assert "Django" not in " ".join(visible_text(html))
