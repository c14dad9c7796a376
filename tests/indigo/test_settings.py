import datetime as dt
import json
import os
import subprocess
import sys
import zoneinfo

from django.conf import settings

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 20 + "-production-secret-from-the-environment-0123456789",
    "ALLOWED_HOSTS": "indigo.example.kz",
    "DATABASE_URL": "postgres://indigo:secret@db.internal:5432/indigo",
    "REDIS_URL": "redis://cache.internal:6379/0",
}
CONFIG_VARS = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
)

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "debug": s.DEBUG, "engine": s.DATABASES["default"]["ENGINE"], "name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL, "cache": s.CACHES["default"]["BACKEND"], "secret": bool(s.SECRET_KEY),
    "hosts": s.ALLOWED_HOSTS, "tz": s.TIME_ZONE, "celery_tz": s.CELERY_TIMEZONE,
}))
"""


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**clean, **env, "DJANGO_SETTINGS_MODULE": "indigo.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_settings_without_any_variable_give_the_embedded_default(tmp_path):
    result = _run({"INDIGO_VAR_DIR": str(tmp_path)}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is True
    assert loaded["engine"] == "django.db.backends.sqlite3"
    assert loaded["name"].startswith(str(tmp_path))
    assert loaded["broker"] == "filesystem://"
    assert loaded["secret"] is True
    assert (tmp_path / "secret_key").exists()


def test_settings_from_production_variables():
    result = _run(PRODUCTION_ENV, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert loaded["debug"] is False
    assert loaded["engine"] == "django.db.backends.postgresql"
    assert loaded["broker"] == "redis://cache.internal:6379/0"
    assert loaded["cache"] == "indigo.cache.TolerantRedisCache"
    assert loaded["hosts"] == ["indigo.example.kz"]
    assert loaded["tz"] == loaded["celery_tz"] == "Asia/Almaty"


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = _run(env, "-c", PROBE)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_under_production_variables():
    result = _run(PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_astana_18_00_is_13_00_utc_on_2026_06_01():
    astana = zoneinfo.ZoneInfo("Asia/Almaty")
    moment = dt.datetime(2026, 6, 1, 18, 0, tzinfo=astana)
    assert moment.astimezone(dt.UTC) == dt.datetime(2026, 6, 1, 13, 0, tzinfo=dt.UTC)


def test_time_zone_data_comes_from_the_pinned_tzdata_package():
    # An old system copy would still say UTC+6 for Almaty; the settings make zoneinfo ignore it.
    assert zoneinfo.TZPATH == ()
    assert dt.datetime(2024, 3, 1, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Almaty")).utcoffset() == dt.timedelta(hours=5)
    assert dt.datetime(2024, 2, 29, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Almaty")).utcoffset() == dt.timedelta(hours=6)
