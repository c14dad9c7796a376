"""Which database errors are a clean 503 (the database is unreachable for a moment) and which stay a 500 (a bug or
a load problem whose traceback must be logged): indigo.views.database_unavailable."""

import sqlite3

import pytest
from django.db import InterfaceError, OperationalError

from indigo.views import database_unavailable


class DriverError(Exception):
    def __init__(self, pgcode):
        super().__init__("driver error")
        self.pgcode = pgcode


def wrapped(driver_error: BaseException, wrapper=OperationalError) -> BaseException:
    try:
        try:
            raise driver_error
        except BaseException as exc:
            raise wrapper(str(exc)) from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("pgcode", "unavailable"),
    [
        (None, True),  # "server closed the connection unexpectedly", "connection refused": no SQLSTATE
        ("08006", True),  # connection failure
        ("57P01", True),  # admin shutdown (a restart)
        ("53300", True),  # too many connections
        ("40P01", False),  # deadlock: a bug, never hidden behind "try again"
        ("57014", False),  # statement timeout
        ("42P01", False),  # undefined table
    ],
)
def test_only_connection_failures_are_unavailable(pgcode, unavailable):
    error = wrapped(DriverError(pgcode))
    assert (database_unavailable(error) is error) is unavailable


def test_an_interface_error_is_unavailable():
    error = wrapped(DriverError(None), wrapper=InterfaceError)
    assert database_unavailable(error) is error


def test_an_error_raised_from_a_lost_connection_is_unavailable():
    cause = wrapped(DriverError(None))
    try:
        raise RuntimeError("while saving the session") from cause
    except RuntimeError as exc:
        assert database_unavailable(exc) is cause


def test_on_sqlite_a_locked_database_is_unavailable_and_a_missing_table_is_not():
    connection = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as missing:
        connection.execute("SELECT * FROM nowhere")
    assert database_unavailable(wrapped(missing.value)) is None
    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    assert database_unavailable(wrapped(busy)) is not None
