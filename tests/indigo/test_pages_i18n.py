import re

import pytest

from tests.i18n import SAME_IN_EVERY_LANGUAGE, catalog, untranslated_segments, visible_text

pytestmark = pytest.mark.django_db

PAGES = ["/{lang}/", "/{lang}/registry/", "/{lang}/protocol/", "/{lang}/schedule/", "/{lang}/accounts/login/"]


@pytest.mark.parametrize("language", ["ru", "kk", "en"])
def test_home_page_renders_with_the_right_lang_attribute(client, language):
    response = client.get(f"/{language}/")
    assert response.status_code == 200
    assert re.search(rf'<html lang="{language}"', response.content.decode())


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("page", PAGES)
def test_pages_have_no_english_left_in_russian_and_kazakh(client, language, page):
    english = client.get(page.format(lang="en")).content.decode()
    translated = client.get(page.format(lang=language)).content.decode()
    assert untranslated_segments(translated, english) == []


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_catalog_entry_is_translated(language):
    missing = [m.id for m in catalog(language) if m.id and (not m.string or m.fuzzy)]
    assert missing == []


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_no_catalog_source_text_is_shown_on_the_home_page(client, language):
    texts = set(visible_text(client.get(f"/{language}/").content.decode())) - SAME_IN_EVERY_LANGUAGE
    leftovers = [
        m.id for m in catalog(language) if isinstance(m.id, str) and m.id and m.id in texts and m.string != m.id
    ]
    assert leftovers == []


def test_home_page_shows_what_the_portal_is_for_in_kazakh(client):
    text = " ".join(visible_text(client.get("/kk/").content.decode()))
    assert "INDIGO" in text
    assert "Бос орындар" in text


def test_language_switcher_keeps_the_current_page(client):
    response = client.post("/i18n/setlang/", {"language": "kk", "next": "/ru/registry/?city=temirtau"})
    assert response.status_code == 302
    assert response["Location"] == "/kk/registry/?city=temirtau"
    response = client.post("/i18n/setlang/", {"language": "ru", "next": "/kk/protocol/"})
    assert response["Location"] == "/ru/protocol/"


def test_api_follows_accept_language(client):
    response = client.get("/api/v1/this-does-not-exist/", HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 404
    assert response["Content-Language"] == "kk"


def test_root_redirects_to_the_russian_home_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/ru/"
