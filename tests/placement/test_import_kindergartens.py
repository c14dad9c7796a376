"""manage.py import_kindergartens: a city's kindergartens and groups from CSV or XLSX, all or nothing."""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from placement.models import City, Group, GroupType, Kindergarten
from placement.services.imports import ImportRejected, kindergartens_import, table_read
from tests.factories import CityFactory, KindergartenFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data"
GOOD_CSV = DATA / "kindergartens-good.csv"
ERRORS_CSV = DATA / "kindergartens-errors.csv"


def run_import(path, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("import_kindergartens", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def snapshot() -> list[tuple]:
    kindergartens = list(
        Kindergarten.objects.order_by("city__slug", "code").values_list(
            "city__slug",
            "code",
            "name_ru",
            "name_kk",
            "name_en",
            "address_ru",
            "address_kk",
            "district_ru",
            "district_kk",
            "phone",
            "email",
            "latitude",
            "longitude",
        )
    )
    groups = list(
        Group.objects.order_by("pk").values_list(
            "pk", "kindergarten__code", "name_ru", "name_kk", "birth_year", "language", "group_type"
        )
    )
    return kindergartens + groups


def write_xlsx(path: Path, rows: list[list]) -> Path:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_good_csv_creates_the_city_kindergartens_and_groups(tmp_path):
    out, _ = run_import(GOOD_CSV)
    city = City.objects.get(slug="karaganda")
    assert (city.name_ru, city.name_kk, city.name_en) == ("Караганда", "Қарағанды", "Karaganda")
    bolashak = Kindergarten.objects.get(city=city, code="KRG-001")
    assert bolashak.name_kk == "«Болашақ» бөбекжай-бақшасы"
    assert bolashak.address_ru == "ул. Ерубаева, 10"
    assert bolashak.email == "bolashak@example.kz"
    assert (bolashak.latitude, bolashak.longitude) == (Decimal("49.806000"), Decimal("73.085000"))
    assert sorted(bolashak.groups.values_list("birth_year", "language", "group_type")) == [
        (2020, "ru", "special"),
        (2021, "kk", "general"),
        (2021, "ru", "general"),
    ]
    solnyshko = Kindergarten.objects.get(city=city, code="KRG-002")
    assert solnyshko.latitude is None
    senior = solnyshko.groups.get(birth_year=2019)
    assert senior.group_type == GroupType.GENERAL  # an empty group_type means general
    assert (senior.name_ru, senior.name_kk) == ("Старшая группа", "Ересек топ")
    assert "kindergartens 2 created" in out and "groups 5 created" in out


def test_importing_the_same_file_twice_changes_nothing():
    run_import(GOOD_CSV)
    before = snapshot()
    out, _ = run_import(GOOD_CSV)
    assert snapshot() == before
    assert "0 created, 0 updated, 2 unchanged" in out
    assert "Nothing to change." in out


def test_reimport_updates_a_kindergarten_by_city_and_code(tmp_path):
    run_import(GOOD_CSV)
    changed = tmp_path / "changed.csv"
    changed.write_text(GOOD_CSV.read_text(encoding="utf-8").replace("bolashak@example.kz", "info@bolashak.kz"))
    out, _ = run_import(changed)
    assert Kindergarten.objects.get(code="KRG-001").email == "info@bolashak.kz"
    assert Kindergarten.objects.filter(code="KRG-001").count() == 1
    assert "0 created, 1 updated, 1 unchanged" in out


def test_good_xlsx_with_numbers_as_numbers_loads_into_the_given_city(tmp_path):
    city = CityFactory(slug="temirtau")
    path = write_xlsx(
        tmp_path / "temirtau.xlsx",
        [
            [
                "Kindergarten_Code",
                "name_ru",
                "name_kk",
                "latitude",
                "longitude",
                "birth_year",
                "language",
                "group_type",
            ],
            ["101", "Детский сад «Ертегі»", "«Ертегі» балабақшасы", 50.0521, 72.9503, 2021, "kk", "general"],
            ["101", "Детский сад «Ертегі»", "«Ертегі» балабақшасы", 50.0521, 72.9503, 2022.0, "RU", None],
            [None, None, None, None, None, None, None, None],  # a blank line in the sheet
            [102, "Ясли-сад «Балапан»", "«Балапан» бөбекжай-бақшасы", None, None, 2019, "ru", "sanatorium"],
        ],
    )
    run_import(path, "--city", "temirtau")
    assert sorted(Kindergarten.objects.filter(city=city).values_list("code", flat=True)) == ["101", "102"]
    ertegi = Kindergarten.objects.get(code="101")
    assert ertegi.latitude == Decimal("50.052100")
    assert sorted(ertegi.groups.values_list("birth_year", "language")) == [(2021, "kk"), (2022, "ru")]
    assert Group.objects.get(kindergarten__code="102").group_type == "sanatorium"
    before = snapshot()
    out, _ = run_import(path, "--city", "temirtau")
    assert snapshot() == before and "Nothing to change." in out


def test_a_file_with_several_problems_writes_nothing_and_names_each_row_and_column():
    CityFactory(slug="karaganda")
    KindergartenFactory(city=City.objects.get(slug="karaganda"), code="KRG-101", name_ru="Старое название")
    before = snapshot()
    with pytest.raises(ImportRejected) as caught, translation.override("en"):
        kindergartens_import(rows=table_read(ERRORS_CSV))
    found = {(problem.row, problem.column) for problem in caught.value.problems}
    assert found == {
        (3, "name_ru"),  # differs from row 2 of KRG-101
        (4, "name_ru"),  # required
        (4, "email"),
        (4, "latitude"),
        (4, "birth_year"),
        (4, "language"),
        (4, "group_type"),
        (5, "birth_year"),  # the same group as row 2
        (6, "longitude"),
        (6, "birth_year"),  # 1999
    }
    assert snapshot() == before
    assert Kindergarten.objects.get(code="KRG-101").name_ru == "Старое название"


def test_the_command_prints_every_problem_and_fails():
    CityFactory(slug="karaganda")
    err = io.StringIO()
    with pytest.raises(CommandError, match="10 problem"), translation.override("en"):
        call_command("import_kindergartens", str(ERRORS_CSV), stderr=err)
    lines = err.getvalue().splitlines()
    assert len(lines) == 10
    assert any(
        "row 4, column birth_year: A whole year from 2000 to 2100 is required (got “20x9”)" in line for line in lines
    )
    assert any("row 3, column name_ru: Differs from row 2 of the same kindergarten KRG-101" in line for line in lines)
    assert Kindergarten.objects.count() == 0


def test_a_missing_city_without_names_is_a_problem(tmp_path):
    path = tmp_path / "nocity.csv"
    path.write_text("city_slug,kindergarten_code,name_ru,name_kk,birth_year,language\nalmaty,A-1,Сад,Бақша,2021,kk\n")
    with pytest.raises(ImportRejected) as caught:
        kindergartens_import(rows=table_read(path))
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "city_slug")]
    assert not City.objects.filter(slug="almaty").exists()


def test_rows_of_another_city_than_the_option_are_problems(tmp_path):
    CityFactory(slug="temirtau")
    path = tmp_path / "mixed.csv"
    path.write_text(
        "city_slug,kindergarten_code,name_ru,name_kk,birth_year,language\n"
        "temirtau,A-1,Сад,Бақша,2021,kk\n"
        "karaganda,A-2,Сад 2,Бақша 2,2021,kk\n"
    )
    with pytest.raises(ImportRejected) as caught:
        kindergartens_import(rows=table_read(path), city="temirtau")
    assert [(p.row, p.column) for p in caught.value.problems] == [(3, "city_slug")]


def test_semicolon_separated_csv_with_a_byte_order_mark_is_read(tmp_path):
    CityFactory(slug="temirtau")
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufeffkindergarten_code;name_ru;name_kk;birth_year;language\nA-1;Сад;Бақша;2021;ru\n".encode())
    run_import(path, "--city", "temirtau")
    assert Kindergarten.objects.get(code="A-1").groups.get().language == "ru"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("binary.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not CSV text in UTF-8"),
        ("empty.csv", b"", "The file is empty"),
        ("blank.csv", b"\n\n", "The file is empty"),
        ("header-only.csv", b"city_slug,kindergarten_code,name_ru,name_kk,birth_year,language\n", "no data rows"),
        ("wrong.csv", "фамилия,имя\nИванов,Иван\n".encode(), "Unknown columns: имя, фамилия"),
        ("missing.csv", b"kindergarten_code,name_ru\nA-1,X\n", "Missing columns: city_slug, name_kk, birth_year"),
        ("broken.xlsx", b"this is not a zip file", "not a valid XLSX workbook"),
        ("kindergartens.txt", b"a,b\n", "Use a .csv or .xlsx file"),
        ("ragged.csv", b"city_slug,kindergarten_code\ntemirtau,A-1,extra\n", "row 2: The row has 3 cells"),
    ],
)
def test_a_malformed_file_is_refused_with_a_clean_error(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"), translation.override("en"):
        call_command("import_kindergartens", str(path), stderr=err)
    assert expected in err.getvalue()
    assert Kindergarten.objects.count() == 0


def test_an_empty_xlsx_is_refused(tmp_path):
    path = write_xlsx(tmp_path / "empty.xlsx", [])
    with pytest.raises(ImportRejected, match="empty"), translation.override("en"):
        table_read(path)


def test_a_missing_file_is_a_command_error(tmp_path):
    with pytest.raises(CommandError, match=r"nope\.csv"):
        call_command("import_kindergartens", str(tmp_path / "nope.csv"))
