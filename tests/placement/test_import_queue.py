"""manage.py import_queue (issue 4): a queue migrated from another system keeps its original times to the second,
its representations and privileges arrive confirmed, a bad file leaves nothing behind and names every problem's
row and column, and importing the same file twice changes nothing."""

import csv
import datetime as dt
import io

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from accounts.models import AuditEntry, Child, Representation, User
from placement.models import Application
from placement.selectors.queue import queue_position
from placement.services.imports import ImportRejected
from placement.services.queue_import import COLUMNS, queue_import
from tests.clock import astana
from tests.factories import ApplicationFactory, CityFactory, ParentFactory, valid_iin

pytestmark = pytest.mark.django_db

AT = astana(2025, 2, 1, 12, 0)


def parent_iin(n: int) -> str:
    return valid_iin(n, prefix="8802")


def child_iin(n: int) -> str:
    return valid_iin(n, prefix="2003")


def row(n: int, **values) -> dict:
    """A valid row for parent n and child n."""
    return {
        "application_number": "",
        "applied_at": f"{10 + n:02d}.03.2021 09:{n:02d}:{n:02d}",
        "city_slug": "temirtau",
        "parent_iin": parent_iin(n),
        "parent_last_name": "Ахметова",
        "parent_first_name": "Динара",
        "parent_middle_name": "Сериковна",
        "parent_phone": f"8 (701) 200-00-{n:02d}",
        "parent_phone_2": "",
        "child_iin": child_iin(n),
        "child_last_name": "Ахметов",
        "child_first_name": "Алихан",
        "child_middle_name": "",
        "child_birth_date": "05.02.2020",
        "representation_kind": "parent",
        "representation_document": f"Свидетельство о рождении № {n}",
        "language": "kk",
        "group_type": "",
        "privilege": "",
        "privilege_document": "",
        **values,
    }


def write_csv(path, rows, *, delimiter=";", bom=True):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8"))
    return path


def table_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def city():
    return CityFactory(slug="temirtau", queue_general_per_priority=3)


def good_rows() -> list[dict]:
    return [
        row(1),
        # ISO with an offset, a guardian, a confirmed priority right, applied after everyone else
        row(
            2,
            applied_at="2021-06-30T23:59:58+06:00",
            representation_kind="guardian",
            privilege="priority",
            privilege_document="Справка об инвалидности родителя № 4",
            language="ru",
        ),
        row(3, applied_at="2021-03-12T04:03:03Z", application_number="ab12-cd34-ef56"),
        row(4, privilege="extraordinary", privilege_document="Удостоверение № 9", applied_at="20.05.2021 10:00"),
        # the same parent as row 1 with a second child
        row(1, child_iin=child_iin(5), child_first_name="Айша", applied_at="11.03.2021 09:01:02"),
        row(6, application_number="OLD-000123"),
    ]


def test_a_good_file_imports_people_confirmed_and_keeps_every_time_to_the_second(tmp_path, city):
    path = write_csv(tmp_path / "queue.csv", good_rows())
    out = io.StringIO()
    call_command("import_queue", str(path), stdout=out, stderr=io.StringIO())
    assert "Imported." in out.getvalue()

    assert Application.objects.count() == 6
    applied = {a.child.iin: a.applied_at for a in Application.objects.select_related("child")}
    assert applied[child_iin(1)] == astana(2021, 3, 11, 9, 1, 1)
    assert applied[child_iin(2)] == astana(2021, 6, 30, 23, 59, 58)
    # Astana was UTC+6 until 2024-03-01: 04:03:03 UTC was 10:03:03 there
    assert applied[child_iin(3)] == astana(2021, 3, 12, 10, 3, 3)
    assert applied[child_iin(4)] == astana(2021, 5, 20, 10, 0)
    assert applied[child_iin(5)] == astana(2021, 3, 11, 9, 1, 2)

    parent = User.objects.get(iin=parent_iin(1))
    assert (parent.role, parent.phone, parent.middle_name) == ("parent", "+77012000001", "Сериковна")
    assert not parent.has_usable_password()
    assert parent.representations.count() == 2
    assert set(Representation.objects.values_list("status", "decision_reason", "decided_by")) == {
        ("confirmed", "imported", None)
    }
    assert Representation.objects.get(child__iin=child_iin(2)).kind == "guardian"
    assert Child.objects.get(iin=child_iin(5)).birth_date == dt.date(2020, 2, 5)

    kept = Application.objects.get(child__iin=child_iin(3))
    assert kept.number == "AB12-CD34-EF56"  # the old number fits the format: kept
    renumbered = Application.objects.get(child__iin=child_iin(6))
    assert renumbered.number != "OLD-000123" and len(renumbered.number) == 14

    priority = Application.objects.get(child__iin=child_iin(2))
    assert (priority.privilege_status, priority.queue_category, priority.birth_year) == ("confirmed", 1, 2020)
    # extraordinary first; then the priority right opens the interleave; then the general ones by time
    positions = {a.child.iin: queue_position(a) for a in Application.objects.select_related("child", "city")}
    assert positions == {
        child_iin(4): 1,
        child_iin(2): 2,
        child_iin(1): 3,
        child_iin(5): 4,
        child_iin(3): 5,
        child_iin(6): 6,
    }
    assert AuditEntry.objects.filter(action="application.import").count() == 6
    assert AuditEntry.objects.filter(action="queue.import").count() == 1


def test_importing_the_same_file_twice_changes_nothing(tmp_path, city):
    path = write_csv(tmp_path / "queue.csv", good_rows(), delimiter=",", bom=False)
    call_command("import_queue", str(path), stdout=io.StringIO())
    before = table_counts()
    numbers = set(Application.objects.values_list("number", "applied_at"))
    out = io.StringIO()
    call_command("import_queue", str(path), "--city", "temirtau", stdout=out)
    assert "Nothing to change." in out.getvalue()
    assert table_counts() == before
    assert set(Application.objects.values_list("number", "applied_at")) == numbers


def test_a_bad_file_names_every_problem_and_leaves_nothing_behind(tmp_path, city):
    other = ParentFactory(phone="+77012009999")  # an account of another person
    rows = [
        row(1),
        row(2, parent_iin="880200000000"),  # checksum fails
        row(3, child_iin="12345"),
        row(4, parent_phone="12345"),
        row(5, applied_at="31.02.2021 10:00"),
        row(6, child_birth_date="2020/02/05"),
        row(7, language="en", privilege="vip"),
        row(8, privilege="priority"),  # no document
        row(9, child_iin=child_iin(1)),  # the same child again in the same city
        row(10, parent_phone="+7 701 200 99 99"),  # belongs to another IIN
        row(11, applied_at="01.01.2030 10:00"),
        row(12, representation_kind="uncle", parent_first_name=""),
    ]
    path = write_csv(tmp_path / "queue.csv", rows)
    before = table_counts()
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_queue", str(path), stdout=io.StringIO(), stderr=err)
    assert table_counts() == before
    assert other.iin != parent_iin(10)
    report = err.getvalue()
    for expected_row, column in [
        (3, "parent_iin"),
        (4, "child_iin"),
        (5, "parent_phone"),
        (6, "applied_at"),
        (7, "child_birth_date"),
        (8, "language"),
        (8, "privilege"),
        (9, "privilege_document"),
        (10, "child_iin"),
        (11, "parent_phone"),
        (12, "applied_at"),
        (13, "parent_first_name"),
        (13, "representation_kind"),
    ]:
        assert f"{expected_row}" in report
        assert any(f"{expected_row}" in line and column in line for line in report.splitlines()), (
            f"row {expected_row}, column {column} not reported:\n{report}"
        )
    assert "queue.csv: " in report


def test_problems_carry_row_and_column(city):
    with pytest.raises(ImportRejected) as caught:
        queue_import(rows=[row(1), row(2, child_birth_date="yesterday")], at=AT)
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (3, "child_birth_date")


def test_missing_and_unknown_columns_are_reported_against_the_header(city):
    bad = row(1)
    del bad["child_iin"]
    bad["favourite_colour"] = "blue"
    with pytest.raises(ImportRejected) as caught:
        queue_import(rows=[bad], at=AT)
    assert {(p.row, p.column) for p in caught.value.problems} == {(1, "")}
    text = " ".join(str(p) for p in caught.value.problems)
    assert "favourite_colour" in text and "child_iin" in text


def test_an_unknown_city_is_a_problem(city):
    with pytest.raises(ImportRejected) as caught:
        queue_import(rows=[row(1, city_slug="atlantis")], at=AT)
    assert [(p.row, p.column) for p in caught.value.problems] == [(2, "city_slug")]


def test_a_child_already_queued_in_the_city_is_left_as_it_is(city):
    existing = ApplicationFactory(city=city, child__iin=child_iin(1), child__birth_date=dt.date(2020, 2, 5))
    result = queue_import(rows=[row(1), row(2)], at=AT)
    assert (result.applications_created, result.applications_unchanged) == (1, 1)
    existing.refresh_from_db()
    assert Application.objects.filter(child=existing.child).count() == 1


def test_a_parent_who_logged_in_by_sms_before_the_import_gets_the_iin(city):
    early = User.objects.create(username="+77012000001", phone="+77012000001", role="parent")
    result = queue_import(rows=[row(1)], at=AT)
    assert (result.parents_created, result.parents_completed) == (0, 1)
    early.refresh_from_db()
    assert (early.iin, early.last_name) == (parent_iin(1), "Ахметова")
    assert Application.objects.get().parent == early


def test_a_pending_representation_is_confirmed_by_the_import(city):
    result = queue_import(rows=[row(1)], at=AT)
    assert result.representations_created == 1
    Representation.objects.update(status="pending", decision_reason="", decided_at=None)
    Application.objects.update(status="withdrawn")
    again = queue_import(rows=[row(1)], at=AT)
    assert again.representations_confirmed == 1
    assert Representation.objects.get().status == "confirmed"


def test_xlsx_files_are_read_too(tmp_path, city):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(COLUMNS))
    values = row(1)
    values["applied_at"] = dt.datetime(2021, 3, 11, 9, 1, 1)  # a date cell: Astana time
    values["child_birth_date"] = dt.datetime(2020, 2, 5)
    sheet.append([values[name] for name in COLUMNS])
    path = tmp_path / "queue.xlsx"
    workbook.save(path)
    call_command("import_queue", str(path), stdout=io.StringIO())
    application = Application.objects.get()
    assert application.applied_at == astana(2021, 3, 11, 9, 1, 1)
    assert application.child.birth_date == dt.date(2020, 2, 5)
