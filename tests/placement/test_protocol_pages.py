"""The public release protocol: the list of published days, a day's chronology, its downloads, and the API."""

import csv
import datetime as dt
import hashlib
import io
import json
import re

import pytest
from openpyxl import load_workbook

from placement.models import Protocol
from placement.services.daily import run_daily
from placement.services.places import place_release, place_withdraw
from tests.clock import astana
from tests.factories import CityFactory, GroupFactory, KindergartenFactory
from tests.i18n import text_of, untranslated_segments

pytestmark = pytest.mark.django_db

RELEASED = astana(2024, 6, 3, 10, 0)  # Mon: counted June 4, 5, 6 -> general June 6 18:00
WITHDRAWN = astana(2024, 6, 4, 11, 30)
RUN = astana(2024, 6, 6, 18, 0)


@pytest.fixture
def city():
    return CityFactory(temirtau=True)


@pytest.fixture
def published(city):
    """Two places released on June 3, one withdrawn on June 4, the other general on June 6; days 3-6 published."""
    kindergarten = KindergartenFactory(city=city, code="K-007", name_ru="Солнышко", name_kk="Күншуақ", name_en="Sunny")
    group = GroupFactory(kindergarten=kindergarten, birth_year=2021, language="kk")
    kept, withdrawn = place_release(group=group, count=2, at=RELEASED)
    place_withdraw(place=withdrawn, reason="Группа закрыта на ремонт", at=WITHDRAWN)
    run_daily(at=RUN)
    return {"city": city, "kindergarten": kindergarten, "kept": kept, "withdrawn": withdrawn}


def interface_in_english(page_html: str, english_html: str) -> list[str]:
    """Untranslated segments, leaving out data shown as is in every language (codes, hashes, reasons)."""
    data = re.compile(r"^\(?K-\d+\)?$|^[0-9a-f]{12,64}$|^Группа закрыта")
    return [s for s in untranslated_segments(page_html, english_html) if not data.search(s)]


# --- Pages -------------------------------------------------------------------------------------------------


def test_protocol_list_shows_published_days_newest_first_with_counts_and_short_hash(client, published):
    response = client.get("/ru/protocol/")
    assert response.status_code == 200
    days = [p.day for p in response.context["page"].object_list]
    assert days == [dt.date(2024, 6, 6), dt.date(2024, 6, 4), dt.date(2024, 6, 3)]  # June 5: nothing happened
    june_4 = Protocol.objects.get(day=dt.date(2024, 6, 4))
    html = response.content.decode()
    assert june_4.sha256[:12] in html
    assert june_4.sha256 not in html
    assert 'href="/ru/protocol/temirtau/2024-06-04/"' in html
    assert "manage.py verify_protocols" in text_of(response)


def test_protocol_list_hides_days_without_events_unless_asked_for_every_day(client, published):
    default = client.get("/ru/protocol/")
    assert 'data-day="2024-06-05"' not in default.content.decode()
    assert 'href="?city=temirtau&amp;days=all"' in default.content.decode()
    every = client.get("/ru/protocol/", {"city": "temirtau", "days": "all"})
    assert [p.day for p in every.context["page"].object_list] == [
        dt.date(2024, 6, 6), dt.date(2024, 6, 5), dt.date(2024, 6, 4), dt.date(2024, 6, 3)
    ]  # fmt: skip
    assert 'data-day="2024-06-05"' in every.content.decode()


def test_protocol_list_jumps_to_the_date_asked_for(client, published):
    response = client.get("/kk/protocol/", {"city": "temirtau", "day": "2024-06-05"})
    assert response.status_code == 302
    assert response["Location"] == "/kk/protocol/temirtau/2024-06-05/"
    html = client.get("/ru/protocol/").content.decode()
    assert 'type="date" id="jump-day" name="day" required min="2024-06-03" max="2024-06-06"' in html


def test_protocol_list_refuses_a_jump_to_a_date_that_does_not_parse(client, published):
    response = client.get("/kk/protocol/", {"city": "temirtau", "day": "05.06.2024x"})
    assert response.status_code == 400
    assert 'id="jump-day-error"' in response.content.decode()
    assert 'data-day="2024-06-04"' in response.content.decode()


def test_protocol_list_offers_a_city_picker_when_there_are_several_cities(client, published):
    other = CityFactory(slug="karaganda", name_ru="Караганда")
    response = client.get("/ru/protocol/", {"city": "karaganda"})
    html = response.content.decode()
    assert 'name="city"' in html
    assert response.context["city"] == other
    assert "Протокол пока не опубликован." in text_of(response)


def test_protocol_list_names_an_unknown_city(client, published):
    response = client.get("/kk/protocol/", {"city": "atlantis"})
    assert response.status_code == 400
    assert "Мұндай қала жоқ." in text_of(response)


def test_protocol_day_page_shows_the_chronology_in_russian(client, published):
    response = client.get("/ru/protocol/temirtau/2024-06-04/")
    text = text_of(response)
    protocol = Protocol.objects.get(day=dt.date(2024, 6, 4))
    assert response.status_code == 200
    assert "04.06.2024 11:30" in text
    assert "Отозвано" in text
    assert "Группа закрыта на ремонт" in text
    assert "Солнышко" in text and "K-007" in text
    assert f"№ {published['withdrawn'].pk}" in text
    assert protocol.sha256 in text and protocol.previous_sha256 in text
    html = response.content.decode()
    assert 'href="/ru/protocol/temirtau/2024-06-03/"' in html
    assert 'href="/ru/protocol/temirtau/2024-06-05/"' in html
    assert 'href="/ru/protocol/temirtau/2024-06-04/download.csv"' in html
    assert 'href="/ru/protocol/temirtau/2024-06-04/download.xlsx"' in html


def test_protocol_day_page_shows_the_move_to_general_in_kazakh(client, published):
    response = client.get("/kk/protocol/temirtau/2024-06-06/")
    text = text_of(response)
    assert "06.06.2024 18:00" in text
    assert "Жалпы қол жеткізуге ауыстырылды" in text
    assert "Күншуақ" in text
    assert "Қазақ тілі" in text


def test_first_protocol_day_links_to_64_zeros(client, published):
    response = client.get("/en/protocol/temirtau/2024-06-03/")
    assert "0" * 64 in response.content.decode()
    assert response.context["previous_day"] is None


@pytest.mark.parametrize("language", ["ru", "kk"])
@pytest.mark.parametrize("path", ["/{lang}/protocol/", "/{lang}/protocol/temirtau/2024-06-04/"])
def test_protocol_pages_leave_no_english_in_russian_and_kazakh(client, published, language, path):
    english = client.get(path.format(lang="en")).content.decode()
    translated = client.get(path.format(lang=language)).content.decode()
    assert interface_in_english(translated, english) == []


def test_unpublished_day_is_a_404_page_that_says_so(client, published):
    response = client.get("/ru/protocol/temirtau/2024-06-07/")
    assert response.status_code == 404
    assert "Протокол за 07.06.2024 по городу Темиртау ещё не опубликован." in text_of(response)
    assert "Бұл хаттама" in text_of(client.get("/kk/protocol/temirtau/2024-06-07/"))


@pytest.mark.parametrize("day", ["2024-13-01", "yesterday", "2024-6-4", "20240604"])
def test_malformed_date_is_a_404_page(client, published, day):
    response = client.get(f"/ru/protocol/temirtau/{day}/")
    assert response.status_code == 404
    assert "Это не дата" in text_of(response)


def test_unknown_city_day_is_a_404_page(client, published):
    response = client.get("/ru/protocol/atlantis/2024-06-04/")
    assert response.status_code == 404
    assert "Такого города нет." in text_of(response)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_missing_protocol_page_leaves_no_english(client, published, language):
    english = client.get("/en/protocol/temirtau/2024-06-07/").content.decode()
    translated = client.get(f"/{language}/protocol/temirtau/2024-06-07/").content.decode()
    assert interface_in_english(translated, english) == []


# --- Downloads ---------------------------------------------------------------------------------------------


def test_csv_download_has_a_bom_russian_headers_and_the_day_entries(client, published):
    response = client.get("/ru/protocol/temirtau/2024-06-04/download.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="protocol-temirtau-2024-06-04.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Время (Астана)",
        "Событие",
        "Место",
        "Код детского сада",
        "Детский сад",
        "Год рождения",
        "Язык обучения",
        "Тип группы",
        "Доступ",
        "Причина",
    ]
    assert rows[1:] == [
        [
            "04.06.2024 11:30:00",
            "Отозвано",
            str(published["withdrawn"].pk),
            "K-007",
            "Солнышко",
            "2021",
            "Казахский",
            "Общая",
            "Приоритетный доступ",
            "Группа закрыта на ремонт",
        ]
    ]


def test_csv_download_headers_and_names_follow_the_page_language(client, published):
    response = client.get("/kk/protocol/temirtau/2024-06-06/download.csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Уақыты (Астана)", "Оқиға"]
    assert rows[1][1:5] == ["Жалпы қол жеткізуге ауыстырылды", str(published["kept"].pk), "K-007", "Күншуақ"]
    assert rows[1][0] == "06.06.2024 18:00:00"


def test_xlsx_download_has_the_chronology_and_the_hashes(client, published):
    response = client.get("/ru/protocol/temirtau/2024-06-03/download.xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="protocol-temirtau-2024-06-03.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    chronology, hashes = workbook.worksheets
    rows = list(chronology.iter_rows(values_only=True))
    assert rows[0][:3] == ("Время (Астана)", "Событие", "Место")
    assert len(rows) == 3
    assert rows[1][0] == dt.datetime(2024, 6, 3, 10, 0)
    assert rows[1][1] == "Освобождено"
    assert rows[1][4] == "Солнышко"
    protocol = Protocol.objects.get(day=dt.date(2024, 6, 3))
    values = dict(hashes.iter_rows(values_only=True))
    assert values["SHA-256 этого дня"] == protocol.sha256
    assert values["SHA-256 предыдущего дня"] == "0" * 64


def test_downloads_never_turn_a_reason_into_a_formula(client, city):
    group = GroupFactory(kindergarten=KindergartenFactory(city=city))
    (place,) = place_release(group=group, count=1, at=RELEASED)
    place_withdraw(place=place, reason='=HYPERLINK("http://evil.example","x")', at=WITHDRAWN)
    run_daily(at=RUN)
    rows = list(csv.reader(io.StringIO(client.get("/ru/protocol/temirtau/2024-06-04/download.csv").content.decode())))
    assert rows[1][-1] == '\'=HYPERLINK("http://evil.example","x")'
    workbook = load_workbook(io.BytesIO(client.get("/ru/protocol/temirtau/2024-06-04/download.xlsx").content))
    cell = workbook.worksheets[0].cell(row=2, column=10)
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://evil.example","x")'


def test_download_of_an_unpublished_day_is_404(client, published):
    assert client.get("/ru/protocol/temirtau/2024-06-07/download.csv").status_code == 404
    assert client.get("/ru/protocol/temirtau/2024-06-04/download.pdf").status_code == 404


# --- API ---------------------------------------------------------------------------------------------------


def test_protocols_api_lists_published_days_newest_first(client, published):
    body = client.get("/api/v1/protocols/", {"city": "temirtau"}).json()
    assert body["count"] == 4
    first = body["results"][0]
    protocol = Protocol.objects.get(day=dt.date(2024, 6, 6))
    assert first == {
        "date": "2024-06-06",
        "published_at": first["published_at"],
        "sha256": protocol.sha256,
        "previous_sha256": Protocol.objects.get(day=dt.date(2024, 6, 5)).sha256,
        "entry_count": 1,
    }
    assert [d["date"] for d in body["results"]] == ["2024-06-06", "2024-06-05", "2024-06-04", "2024-06-03"]


def test_protocols_api_needs_a_known_city(client, published):
    assert client.get("/api/v1/protocols/").status_code == 400
    response = client.get("/api/v1/protocols/", {"city": "atlantis"}, HTTP_ACCEPT_LANGUAGE="kk")
    assert response.status_code == 400
    assert response.json() == {"reason": "invalid", "detail": {"city": ["Мұндай қала жоқ."]}}


def test_protocol_day_api_gives_entries_with_the_name_in_the_request_language(client, published):
    response = client.get("/api/v1/protocols/temirtau/2024-06-04/", HTTP_ACCEPT_LANGUAGE="kk")
    body = response.json()
    protocol = Protocol.objects.get(day=dt.date(2024, 6, 4))
    assert body["date"] == "2024-06-04"
    assert body["sha256"] == protocol.sha256
    assert body["previous_sha256"] == Protocol.objects.get(day=dt.date(2024, 6, 3)).sha256
    assert body["entries"] == [
        {
            "at": "2024-06-04T11:30:00+05:00",
            "event": "withdrawn",
            "place": published["withdrawn"].pk,
            "kindergarten": {"id": published["kindergarten"].pk, "code": "K-007", "name": "Күншуақ"},
            "birth_year": 2021,
            "language": "kk",
            "group_type": "general",
            "access": "priority",
            "reason": "Группа закрыта на ремонт",
            "reason_label": "Группа закрыта на ремонт",  # typed: as it is; the portal's own codes in words
        }
    ]
    english = client.get("/api/v1/protocols/temirtau/2024-06-04/", HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["entries"][0]["kindergarten"]["name"] == "Sunny"


def test_protocol_day_api_answers_404_with_a_clear_message_for_an_unpublished_day(client, published):
    response = client.get("/api/v1/protocols/temirtau/2024-06-07/", HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 404
    assert response.json() == {
        "reason": "not_found",
        "detail": "Протокол за 07.06.2024 по городу Темиртау ещё не опубликован. "
        "Протокол каждого дня публикуется в 18:00 по времени Астаны.",
    }


def test_protocol_day_api_answers_404_for_an_unknown_city_or_a_bad_date(client, published):
    assert client.get("/api/v1/protocols/atlantis/2024-06-04/").status_code == 404
    response = client.get("/api/v1/protocols/temirtau/2024-02-30/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["detail"].startswith("This is not a date")


def test_protocol_document_hashes_to_the_published_sha256(client, published):
    """The recipe the protocol page explains, done by an outside reader."""
    previous = "0" * 64
    for day in ("2024-06-03", "2024-06-04", "2024-06-05", "2024-06-06"):
        document = client.get(f"/api/v1/protocols/temirtau/{day}/document/").json()
        canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        published_day = client.get(f"/api/v1/protocols/temirtau/{day}/").json()
        assert document["previous_sha256"] == previous
        assert digest == published_day["sha256"]
        previous = digest


def test_protocol_api_list_reads_no_entries(client, published, django_assert_max_num_queries):
    with django_assert_max_num_queries(3) as captured:
        client.get("/api/v1/protocols/", {"city": "temirtau"})
    assert not any('"entries"' in query["sql"] for query in captured.captured_queries)
