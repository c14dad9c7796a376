"""Backup and restore of PostgreSQL as docs/OPERATIONS.md gives them: scripts/backup.sh (pg_dump -Fc) of a database
with a few days of published protocols, createdb + scripts/restore.sh (pg_restore, then verify_protocols) into a new
database, whose chain verifies and whose rows equal the original's. The new database is dropped at the end."""

import os
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from accounts.services.audit import audit_record
from placement.models import Protocol
from placement.services.daily import run_daily
from placement.services.places import place_release
from tests.clock import astana
from tests.conftest import BASE_DIR, database_url_for_subprocess
from tests.factories import GroupFactory, StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Compared row for row between the original and the restored database.
TABLES = ("placement_protocol", "placement_placeevent", "placement_place", "accounts_user", "accounts_auditentry")


def server_options() -> list[str]:
    db = connection.settings_dict
    options = ["--host", db.get("HOST") or "127.0.0.1", "--port", str(db.get("PORT") or 5432)]
    if db.get("USER"):
        options += ["--username", db["USER"]]
    return options


def client_env(**extra) -> dict[str, str]:
    env = {**os.environ, **extra}
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return env


def run(command: list[str], **extra_env) -> subprocess.CompletedProcess:
    env = client_env(**extra_env)
    return subprocess.run(command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300)


def table_rows(database_url: str, table: str) -> str:
    """The table's rows as text, in primary-key order (psql's COPY output: every column, exactly)."""
    query = f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT"
    result = run(["psql", database_url, "-v", "ON_ERROR_STOP=1", "-c", query])
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture
def restored_database():
    """The name and URL of a new database on the same server, dropped (connections and all) afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    url = database_url_for_subprocess().rsplit("/", 1)[0] + f"/{name}"
    yield name, url
    dropped = run(["dropdb", *server_options(), "--if-exists", "--force", name])
    assert dropped.returncode == 0, dropped.stderr


def test_a_dump_restored_into_a_new_database_passes_verify_protocols_with_equal_rows(
    postgres, restored_database, tmp_path
):
    group = GroupFactory(birth_year=2021)
    staff = StaffFactory(kindergarten=group.kindergarten)
    audit_record(actor=staff, action="login.password", target=staff, ip="192.0.2.1", device="Firefox")
    place_release(group=group, count=3, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 3, 18, 0))
    place_release(group=group, count=2, at=astana(2024, 5, 6, 9, 0))
    run_daily(at=astana(2024, 5, 8, 18, 0))
    assert Protocol.objects.count() == 7  # 2 May to 8 May, one per day
    source_url = database_url_for_subprocess()

    dump = tmp_path / "indigo.dump"
    backup = run(["scripts/backup.sh", str(dump)], DATABASE_URL=source_url)
    assert backup.returncode == 0, backup.stderr
    assert dump.stat().st_size > 0 and not (tmp_path / "indigo.dump.partial").exists()

    name, url = restored_database
    created = run(["createdb", *server_options(), name])
    assert created.returncode == 0, created.stderr
    restore = run(["scripts/restore.sh", str(dump)], DATABASE_URL=url, PYTHON=sys.executable)
    assert restore.returncode == 0, restore.stdout + restore.stderr
    assert "7 protocol(s) verified: the chain is intact" in restore.stdout

    for table in TABLES:
        original = table_rows(source_url, table)
        assert original, table
        assert table_rows(url, table) == original, table


def test_verify_protocols_on_the_restored_database_fails_when_a_day_differs(postgres, restored_database, tmp_path):
    """The check the restore relies on can fail: a restored day altered afterwards is named."""
    group = GroupFactory(birth_year=2021)
    place_release(group=group, count=2, at=astana(2024, 5, 2, 10, 0))
    run_daily(at=astana(2024, 5, 6, 18, 0))
    dump = tmp_path / "indigo.dump"
    assert run(["scripts/backup.sh", str(dump)], DATABASE_URL=database_url_for_subprocess()).returncode == 0
    name, url = restored_database
    assert run(["createdb", *server_options(), name]).returncode == 0
    assert run(["scripts/restore.sh", str(dump)], DATABASE_URL=url, PYTHON=sys.executable).returncode == 0

    # As a superuser bypassing the append-only triggers, as a damaged or doctored restore would.
    altered = run(
        [
            "psql",
            url,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "SET session_replication_role = replica; "
            "UPDATE placement_protocol SET entries = '[]'::jsonb WHERE day = '2024-05-06'",
        ]
    )
    assert altered.returncode == 0, altered.stderr
    verify = run([sys.executable, "manage.py", "verify_protocols"], DATABASE_URL=url)
    assert verify.returncode == 1
    assert "2024-05-06" in verify.stderr
