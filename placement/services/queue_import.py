"""Migrating an existing queue from another system (`manage.py import_queue`); the columns are in
docs/IMPORT_QUEUE.md.

One row per application: the parent, the child, the representation and the application. The other system
confirmed the representations and privileges it held, so they arrive CONFIRMED (decided_by empty, reason
"imported"), and the original date and time of each application is kept to the second: it is the child's place
in the queue (DOMAIN.md, Queue).

All or nothing, like the kindergarten import (placement.services.imports, whose file reading and problem
reporting this reuses): every row is checked first, every problem is collected with its row and column, and only
a file without a single problem is written, in one transaction. Importing the same file again changes nothing: an
application is matched by its number or by the child's active application in the city.

Built for a whole city's queue (300,000 rows): existing people and applications are looked up in chunks by IIN,
phone and number, and everything new is written with bulk_create; no query per row.
"""

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import AuditEntry, Child, Representation
from accounts.services.audit import audit_record
from accounts.services.people import MIN_BIRTH_DATE
from accounts.validators import normalize_phone, validate_iin
from schedules.calendar import ASTANA

from ..models import Application, City, GroupType
from ..models.queue import application_number_new
from .applications import queue_category_for
from .imports import ImportProblem, ImportRejected, Tally, table_rows

COLUMNS = (
    "application_number",
    "applied_at",
    "city_slug",
    "parent_iin",
    "parent_last_name",
    "parent_first_name",
    "parent_middle_name",
    "parent_phone",
    "parent_phone_2",
    "child_iin",
    "child_last_name",
    "child_first_name",
    "child_middle_name",
    "child_birth_date",
    "representation_kind",
    "representation_document",
    "language",
    "group_type",
    "privilege",
    "privilege_document",
)
REQUIRED_COLUMNS = (
    "applied_at",
    "parent_iin",
    "parent_last_name",
    "parent_first_name",
    "child_iin",
    "child_last_name",
    "child_first_name",
    "child_birth_date",
    "representation_document",
    "language",
)
NAME_COLUMNS = (
    "parent_last_name",
    "parent_first_name",
    "parent_middle_name",
    "child_last_name",
    "child_first_name",
    "child_middle_name",
)
MAX_LENGTHS = {name: 150 for name in NAME_COLUMNS} | {"representation_document": 255, "privilege_document": 255}
# What the other system's confirmation is recorded as (Representation.decision_reason, Application.privilege_reason).
IMPORTED_REASON = "imported"
NUMBER_PATTERN = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$")
CHUNK = 900  # values per IN (...) lookup: below SQLite's oldest variable limit
BATCH = 2000  # rows per INSERT


@dataclass
class QueueImportResult(Tally):
    CHANGES = (
        "parents_created",
        "parents_completed",
        "children_created",
        "representations_created",
        "representations_confirmed",
        "applications_created",
    )

    parents_created: int = 0
    parents_completed: int = 0  # an account that logged in by SMS before the import got its IIN and name
    children_created: int = 0
    representations_created: int = 0
    representations_confirmed: int = 0  # pending ones the other system had confirmed
    applications_created: int = 0
    applications_unchanged: int = 0
    applications_renumbered: int = 0  # the old number did not fit the format or was taken: a new one was given
    cities: list[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    values: dict


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _in_bulk(queryset, field_name: str, values: Iterable) -> list:
    found = []
    for chunk in _chunks(set(values)):
        found.extend(queryset.filter(**{f"{field_name}__in": chunk}))
    return found


# --- Checking one row ---------------------------------------------------------------------------------------------


def _parse_applied_at(text: str) -> dt.datetime:
    """ISO 8601 with an offset (or without one: Astana time), or DD.MM.YYYY HH:MM[:SS] in Astana time."""
    for pattern in ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"):
        try:
            return dt.datetime.strptime(text, pattern).replace(tzinfo=ASTANA)
        except ValueError:
            pass
    value = dt.datetime.fromisoformat(text)  # ValueError when it is not a date and time either
    if value.tzinfo is None:
        value = value.replace(tzinfo=ASTANA)
    return value


def _parse_date(text: str) -> dt.date:
    """DD.MM.YYYY or ISO YYYY-MM-DD (a spreadsheet's date cell arrives as an ISO date-time at midnight)."""
    try:
        return dt.datetime.strptime(text, "%d.%m.%Y").date()
    except ValueError:
        pass
    if "T" in text and text.endswith("T00:00:00"):
        text = text[:10]
    return dt.date.fromisoformat(text)


def _choice(values: dict, name: str, choices, default: str, problem) -> None:
    value = (values.get(name) or default).lower()
    values[name] = value
    if value and value not in choices:  # an empty required one is reported as required
        problem(
            name, _("Must be one of %(choices)s (got “%(value)s”).") % {"choices": ", ".join(choices), "value": value}
        )


def _row_values(number: int, row: Mapping[str, str], *, city_slug: str, at: dt.datetime, problems: list) -> dict:
    def problem(column, message):
        problems.append(ImportProblem(row=number, column=column, message=message))

    values = {name: (row.get(name) or "").strip() for name in COLUMNS}
    values["parent_iin"] = "".join(values["parent_iin"].split())
    values["child_iin"] = "".join(values["child_iin"].split())
    for name in REQUIRED_COLUMNS:
        if not values[name]:
            problem(name, _("This field is required."))
    for name, limit in MAX_LENGTHS.items():
        if len(values[name]) > limit:
            problem(name, _("At most %(max)s characters (got %(got)s).") % {"max": limit, "got": len(values[name])})

    if city_slug:
        if values["city_slug"] and values["city_slug"] != city_slug:
            problem(
                "city_slug",
                _("Every row must be of city “%(city)s” (got “%(value)s”).")
                % {"city": city_slug, "value": values["city_slug"]},
            )
        values["city_slug"] = city_slug
    elif not values["city_slug"]:
        problem("city_slug", _("This field is required."))

    for name in ("parent_iin", "child_iin"):
        if values[name]:
            try:
                validate_iin(values[name])
            except ValidationError as exc:
                problem(name, exc.messages[0])
    if values["parent_iin"] and values["parent_iin"] == values["child_iin"]:
        problem("child_iin", _("The child's IIN is the same as the parent's."))

    for name in ("parent_phone", "parent_phone_2"):
        if values[name]:
            try:
                values[name] = normalize_phone(values[name])
            except ValidationError as exc:
                problem(name, exc.messages[0])

    if values["applied_at"]:
        try:
            values["applied_at"] = _parse_applied_at(values["applied_at"])
        except ValueError:
            problem(
                "applied_at",
                _("Not a date and time: use 2024-03-15T09:30:00+05:00 or 15.03.2024 09:30 (got “%(value)s”).")
                % {"value": values["applied_at"]},
            )
        else:
            if values["applied_at"] > at:
                problem("applied_at", _("The time of application is in the future."))

    if values["child_birth_date"]:
        try:
            birth_date = _parse_date(values["child_birth_date"])
        except ValueError:
            problem(
                "child_birth_date",
                _("Not a date: use 15.03.2021 or 2021-03-15 (got “%(value)s”).")
                % {"value": values["child_birth_date"]},
            )
        else:
            values["child_birth_date"] = birth_date
            if not MIN_BIRTH_DATE <= birth_date <= timezone.localdate(at, ASTANA):
                problem(
                    "child_birth_date",
                    _("The date of birth must be between %(min)s and today.")
                    % {"min": MIN_BIRTH_DATE.strftime("%d.%m.%Y")},
                )
            elif isinstance(values["applied_at"], dt.datetime) and values["applied_at"].astimezone(ASTANA).date() < (
                birth_date
            ):
                problem("applied_at", _("The application is dated before the child's birth."))

    _choice(values, "representation_kind", Representation.Kind.values, Representation.Kind.PARENT, problem)
    _choice(values, "language", Application.Language.values, "", problem)
    _choice(values, "group_type", GroupType.values, GroupType.GENERAL, problem)
    _choice(values, "privilege", Application.Privilege.values, Application.Privilege.NONE, problem)
    claimed = values["privilege"] in Application.Privilege.values and values["privilege"] != Application.Privilege.NONE
    if claimed and not values["privilege_document"]:
        problem("privilege_document", _("Name the document that proves the privilege."))

    number = values["application_number"].upper()
    values["application_number"] = number if NUMBER_PATTERN.match(number) else ""
    values["renumbered"] = bool(number) and not values["application_number"]
    return values


# --- Checking the rows together -----------------------------------------------------------------------------------


def _check_file(rows: list[_Row], problems: list) -> None:
    """Within the file: one person per IIN (the same names and phone on each of a parent's rows), one IIN per
    phone, one birth date per child, one application per child and city."""
    parents: dict[str, _Row] = {}
    phones: dict[str, _Row] = {}
    children: dict[str, _Row] = {}
    applications: dict[tuple, _Row] = {}
    for row in rows:
        values = row.values
        iin = values["parent_iin"]
        if not iin or not values["child_iin"]:
            continue  # already reported as required
        first = parents.setdefault(iin, row)
        if first is not row:
            for name in ("parent_last_name", "parent_first_name", "parent_middle_name", "parent_phone"):
                if values[name] != first.values[name]:
                    problems.append(
                        ImportProblem(
                            row=row.number,
                            column=name,
                            message=_("Differs from row %(row)s of the same parent (“%(value)s” there).")
                            % {"row": first.number, "value": first.values[name]},
                        )
                    )
        phone = values["parent_phone"]
        if phone:
            owner = phones.setdefault(phone, row)
            if owner.values["parent_iin"] != iin:
                problems.append(
                    ImportProblem(
                        row=row.number,
                        column="parent_phone",
                        message=_("This phone belongs to another parent (IIN %(iin)s, row %(row)s).")
                        % {"iin": owner.values["parent_iin"], "row": owner.number},
                    )
                )
        child = children.setdefault(values["child_iin"], row)
        if child is not row and str(child.values["child_birth_date"]) != str(values["child_birth_date"]):
            problems.append(
                ImportProblem(
                    row=row.number,
                    column="child_birth_date",
                    message=_("Differs from row %(row)s of the same child.") % {"row": child.number},
                )
            )
        key = (values["child_iin"], values["city_slug"])
        earlier = applications.setdefault(key, row)
        if earlier is not row:
            problems.append(
                ImportProblem(
                    row=row.number,
                    column="child_iin",
                    message=_("The same child is already in this city's queue on row %(row)s.")
                    % {"row": earlier.number},
                )
            )


@dataclass
class _Existing:
    cities: dict
    parents: dict  # iin -> User
    phone_owners: dict  # phone -> User
    usernames: set
    children: dict  # iin -> Child
    representations: dict  # (parent_id, child_id) -> Representation
    numbers: dict  # number -> (child_id, city_id)
    active: dict  # (child_id, city_id) -> number


def _existing(rows: list[_Row], problems: list) -> _Existing:
    User = get_user_model()
    slugs = {row.values["city_slug"] for row in rows if row.values["city_slug"]}
    cities = {city.slug: city for city in City.objects.filter(slug__in=slugs)}
    reported = set()
    for row in rows:
        slug = row.values["city_slug"]
        if slug and slug not in cities and slug not in reported:
            reported.add(slug)
            problems.append(
                ImportProblem(
                    row=row.number,
                    column="city_slug",
                    message=_("There is no city “%(city)s”: create it in the admin first.") % {"city": slug},
                )
            )
    parent_iins = {row.values["parent_iin"] for row in rows}
    phones = {row.values["parent_phone"] for row in rows if row.values["parent_phone"]}
    parents = {user.iin: user for user in _in_bulk(User.objects.all(), "iin", parent_iins)}
    phone_owners = {user.phone: user for user in _in_bulk(User.objects.all(), "phone", phones)}
    usernames = set(
        _in_bulk(
            User.objects.values_list("username", flat=True), "username", phones | {f"iin-{i}" for i in parent_iins}
        )
    )
    children = {
        child.iin: child for child in _in_bulk(Child.objects.all(), "iin", {r.values["child_iin"] for r in rows})
    }
    child_ids = [child.pk for child in children.values()]
    representations = {
        (rep.parent_id, rep.child_id): rep for rep in _in_bulk(Representation.objects.all(), "child_id", child_ids)
    }
    numbers = {
        number: (child_id, city_id)
        for number, child_id, city_id in _in_bulk(
            Application.objects.values_list("number", "child_id", "city_id"),
            "number",
            {r.values["application_number"] for r in rows if r.values["application_number"]},
        )
    }
    active = {
        (child_id, city_id): number
        for number, child_id, city_id in _in_bulk(
            Application.objects.filter(status__in=Application.ACTIVE_STATUSES).values_list(
                "number", "child_id", "city_id"
            ),
            "child_id",
            child_ids,
        )
    }
    return _Existing(cities, parents, phone_owners, usernames, children, representations, numbers, active)


def _check_against_database(rows: list[_Row], existing: _Existing, problems: list) -> None:
    for row in rows:
        values = row.values

        def problem(column, message, row=row):
            problems.append(ImportProblem(row=row.number, column=column, message=message))

        parent = existing.parents.get(values["parent_iin"])
        if parent is not None and not parent.is_parent:
            problem("parent_iin", _("This IIN belongs to a staff or admin account."))
        phone = values["parent_phone"]
        owner = existing.phone_owners.get(phone) if phone else None
        if owner is not None and owner.iin != values["parent_iin"]:
            if owner.iin or parent is not None:
                problem("parent_phone", _("This phone belongs to another person's account."))
            elif not owner.is_parent:
                problem("parent_phone", _("This phone belongs to a staff or admin account."))
        child = existing.children.get(values["child_iin"])
        birth_date = values["child_birth_date"]
        if child is not None and isinstance(birth_date, dt.date) and child.birth_date != birth_date:
            problem("child_birth_date", _("This IIN is registered with another date of birth."))
        if parent is not None and child is not None:
            representation = existing.representations.get((parent.pk, child.pk))
            if representation is not None and representation.status == Representation.Status.REJECTED:
                problem(
                    "representation_kind",
                    _("This parent's representation of the child was rejected here: decide it in the admin."),
                )


# --- Writing ---------------------------------------------------------------------------------------------------


def _write(rows: list[_Row], existing: _Existing, *, at: dt.datetime, source: str) -> QueueImportResult:
    User = get_user_model()
    result = QueueImportResult(cities=sorted({row.values["city_slug"] for row in rows}))

    # Parents: new accounts in bulk; an account made by an SMS login before the import gets its IIN and name.
    parents = dict(existing.parents)
    new_parents, completed = [], []
    unusable = make_password(None)  # imported parents log in by SMS code, never by password
    for row in rows:
        values = row.values
        iin = values["parent_iin"]
        if iin in parents:
            continue
        owner = existing.phone_owners.get(values["parent_phone"]) if values["parent_phone"] else None
        names = {
            "last_name": values["parent_last_name"],
            "first_name": values["parent_first_name"],
            "middle_name": values["parent_middle_name"],
        }
        if owner is not None:
            owner.iin = iin
            for name, value in names.items():
                if not getattr(owner, name):
                    setattr(owner, name, value)
            if not owner.phone_2 and values["parent_phone_2"]:
                owner.phone_2 = values["parent_phone_2"]
            completed.append(owner)
            parents[iin] = owner
            continue
        username = values["parent_phone"] or f"iin-{iin}"
        if username in existing.usernames:
            username = f"iin-{iin}"
        user = User(
            username=username,
            role=User.Role.PARENT,
            iin=iin,
            phone=values["parent_phone"] or None,
            phone_2=values["parent_phone_2"],
            password=unusable,
            date_joined=at,
            **names,
        )
        new_parents.append(user)
        parents[iin] = user
    User.objects.bulk_create(new_parents, batch_size=BATCH)
    User.objects.bulk_update(completed, ["iin", "last_name", "first_name", "middle_name", "phone_2"], batch_size=BATCH)
    result.parents_created, result.parents_completed = len(new_parents), len(completed)

    children = dict(existing.children)
    new_children = []
    for row in rows:
        values = row.values
        if values["child_iin"] in children:
            continue
        child = Child(
            iin=values["child_iin"],
            last_name=values["child_last_name"],
            first_name=values["child_first_name"],
            middle_name=values["child_middle_name"],
            birth_date=values["child_birth_date"],
            created_at=at,
        )
        new_children.append(child)
        children[child.iin] = child
    Child.objects.bulk_create(new_children, batch_size=BATCH)
    result.children_created = len(new_children)

    # Representations: confirmed, as the other system held them.
    confirmed = Representation.Status.CONFIRMED
    decision = {"status": confirmed, "decision_reason": IMPORTED_REASON, "decided_by": None, "decided_at": at}
    seen = dict(existing.representations)
    new_representations, to_confirm = [], []
    for row in rows:
        values = row.values
        key = (parents[values["parent_iin"]].pk, children[values["child_iin"]].pk)
        representation = seen.get(key)
        if representation is None:
            representation = Representation(
                parent_id=key[0],
                child_id=key[1],
                kind=values["representation_kind"],
                document=values["representation_document"],
                created_at=at,
                **decision,
            )
            new_representations.append(representation)
            seen[key] = representation
        elif representation.status == Representation.Status.PENDING:
            for name, value in decision.items():
                setattr(representation, name, value)
            to_confirm.append(representation)
    Representation.objects.bulk_create(new_representations, batch_size=BATCH)
    Representation.objects.bulk_update(to_confirm, list(decision), batch_size=BATCH)
    result.representations_created, result.representations_confirmed = len(new_representations), len(to_confirm)

    # Applications: an existing one (by number, or the child's active one in the city) is left as it is.
    taken_numbers = set(existing.numbers)
    new_applications = []
    for row in rows:
        values = row.values
        parent, child = parents[values["parent_iin"]], children[values["child_iin"]]
        city = existing.cities[values["city_slug"]]
        number = values["application_number"]
        if existing.numbers.get(number) == (child.pk, city.pk) or (child.pk, city.pk) in existing.active:
            result.applications_unchanged += 1
            continue
        if not number or number in taken_numbers:
            result.applications_renumbered += bool(values["renumbered"] or number)
            number = application_number_new()
            while number in taken_numbers:
                number = application_number_new()
        taken_numbers.add(number)
        privilege = values["privilege"]
        privileged = privilege != Application.Privilege.NONE
        privilege_status = Application.PrivilegeStatus.CONFIRMED if privileged else Application.PrivilegeStatus.NONE
        new_applications.append(
            Application(
                number=number,
                child=child,
                parent=parent,
                city=city,
                birth_year=child.birth_date.year,
                language=values["language"],
                group_type=values["group_type"],
                privilege=privilege,
                privilege_document=values["privilege_document"] if privileged else "",
                privilege_status=privilege_status,
                privilege_reason=IMPORTED_REASON if privileged else "",
                queue_category=queue_category_for(privilege=privilege, privilege_status=privilege_status),
                applied_at=values["applied_at"],
                status=Application.Status.QUEUED,
                status_changed_at=values["applied_at"],
            )
        )
    Application.objects.bulk_create(new_applications, batch_size=BATCH)
    result.applications_created = len(new_applications)

    if result.changed:
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    at=at,
                    action="application.import",
                    target_type=Application._meta.label_lower,
                    target_id=str(application.pk),
                    details={"source": source, "applied_at": application.applied_at.isoformat()},
                )
                for application in new_applications
            ],
            batch_size=BATCH,
        )
        audit_record(
            actor=None,
            action="queue.import",
            at=at,
            source=source,
            cities=result.cities,
            parents_created=result.parents_created,
            children_created=result.children_created,
            representations_created=result.representations_created,
            representations_confirmed=result.representations_confirmed,
            applications_created=result.applications_created,
        )
    return result


def queue_import(
    *, rows: Iterable[Mapping[str, str]], city: str | None = None, at: dt.datetime | None = None, source: str = ""
) -> QueueImportResult:
    """Import a queue: parents, children, confirmed representations and privileges, applications with their
    original times. All or nothing: raises ImportRejected naming the row and column of every problem, having
    written nothing. `city`: the slug every row belongs to (else each row's city_slug). `source`: the file's name,
    for the audit log."""
    at = at or timezone.now()
    table = table_rows(list(rows), known=COLUMNS, required=[*REQUIRED_COLUMNS] + ([] if city else ["city_slug"]))
    problems = []
    city_slug = (city or "").strip()
    checked = [
        _Row(number, _row_values(number, row, city_slug=city_slug, at=at, problems=problems)) for number, row in table
    ]
    _check_file(checked, problems)
    existing = _existing(checked, problems)
    _check_against_database(checked, existing, problems)
    if problems:
        order = {name: index for index, name in enumerate(COLUMNS)}
        raise ImportRejected(sorted(problems, key=lambda p: (p.row, order.get(p.column, -1))))

    with transaction.atomic():
        return _write(checked, existing, at=at, source=source)
