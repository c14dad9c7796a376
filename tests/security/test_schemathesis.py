"""Schemathesis against /api/schema/, in process (issue 7, Hostile and bad input): for anonymous visitors, a
parent and kindergarten staff (each with a valid token), every operation of the schema answers without a 5xx, with
a status code, content type and body the schema documents.

Each operation is driven twice per role: with generated path parameters (mostly unknown objects) and with the real
ones of the security world (our city, protocol day, place, referral and application), so that the 2xx answers are
checked against the schema too. Examples are bounded (EXAMPLES per operation, role and kind), no deadline.

Checks: no server error (never relaxed), status code, content type, response headers and body against the schema.
Not checked: "a schema-valid request is accepted" — business rules rightly refuse schema-valid requests (a child id
that is not yours, an IIN whose checksum fails, a place of another city).

KNOWN_GAPS lists the schema mismatches found when this test was written, each narrowed to the operation, status and
symptom, so that every other mismatch still fails. Delete an entry once the schema or the view is fixed.
"""

import json
from collections.abc import Callable

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from indigo.wsgi import application

pytestmark = pytest.mark.django_db

EXAMPLES = 25


def _body(response) -> object:
    try:
        return json.loads(response.content or b"null")
    except ValueError:
        return None


def _route_exists(case) -> bool:
    try:
        resolve(case.formatted_path)
    except (Resolver404, UnicodeError):
        return False
    return True


def _failure_texts(exc: BaseException) -> list[str]:
    parts = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
    return [str(part) for part in parts]


# Each gap: (check name, predicate on (case, response, failure texts)) -> why it is tolerated for now.
KNOWN_GAPS: list[tuple[str, Callable, str]] = [
]


def tolerant(check):
    """`check`, except for the KNOWN_GAPS that name it."""
    gaps = [(predicate, why) for name, predicate, why in KNOWN_GAPS if name == check.__name__]

    def wrapper(ctx, response, case):
        try:
            return check(ctx, response, case)
        except (AssertionError, BaseExceptionGroup) as exc:
            texts = _failure_texts(exc)
            if any(predicate(case, response, texts) for predicate, _ in gaps):
                return None
            raise

    wrapper.__name__ = check.__name__
    return wrapper


CHECKS = [
    not_a_server_error,  # never relaxed
    tolerant(status_code_conformance),
    tolerant(content_type_conformance),
    tolerant(response_headers_conformance),
    tolerant(response_schema_conformance),
]


@pytest.fixture
def in_process(db):
    """Requests through the WSGI handler inside the test's transaction: like Django's test client, keep the
    handler from closing the test's database connection at the start and end of each request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def schema(in_process):
    return schemathesis.openapi.from_wsgi("/api/schema/", in_process)


def operations(schema):
    found = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found


def path_parameters_for(operation, world) -> dict[str, str]:
    ours = world.ours
    values = {
        "city": world.city.slug,
        "day": world.protocol.day.isoformat(),
        "year": "2024",
        "id": str(ours.free_place.pk),
        "number": ours.referral.number if "referrals" in operation.path else ours.application.number,
    }
    names = {parameter.name for parameter in operation.path_parameters}
    return {name: value for name, value in values.items() if name in names}


def exercise(operation, *, headers, path_parameters, failures: list, before_each) -> None:
    strategy = operation.as_strategy(headers=headers or None, path_parameters=path_parameters or None)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        before_each()
        case.call_and_validate(app=application, headers=headers, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then fail once
        who = "with a token" if headers else "anonymous"
        where = "real path parameters" if path_parameters else "generated path parameters"
        failures.append(f"{operation.label} ({who}, {where}): {exc}")


@pytest.fixture
def roles(world):
    """Each role's Authorization header and the user who holds the token (logout deletes it; it is put back)."""
    return {
        "anonymous": ({}, None),
        "parent": ({"Authorization": f"Token {world.ours.parent_token}"}, world.ours.parent),
        "staff": ({"Authorization": f"Token {world.ours.token}"}, world.ours.staff),
    }


@pytest.mark.parametrize("role", ["anonymous", "parent", "staff"])
def test_every_operation_answers_as_its_schema_says(schema, world, roles, role):
    headers, user = roles[role]

    def keep_the_token():
        if user is not None:
            Token.objects.get_or_create(user=user, defaults={"key": headers["Authorization"].split()[1]})

    failures: list[str] = []
    for operation in operations(schema):
        exercise(operation, headers=headers, path_parameters=None, failures=failures, before_each=keep_the_token)
        real = path_parameters_for(operation, world)
        if real:
            exercise(operation, headers=headers, path_parameters=real, failures=failures, before_each=keep_the_token)
    assert failures == [], "\n\n".join(failures)


def test_the_schema_documents_the_rate_limit_of_the_sms_login(schema):
    [operation] = [op for op in operations(schema) if op.path == "/api/v1/auth/otp/" and op.method == "post"]
    assert "429" in operation.definition.raw["responses"]


def test_the_schema_lists_the_public_parent_and_staff_operations(schema):
    paths = {operation.path for operation in operations(schema)}
    assert {"/api/v1/registry/", "/api/v1/me/", "/api/v1/staff/places/", "/api/v1/queue/{number}/"} <= paths
