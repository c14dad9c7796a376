"""The project's own hygiene, run with the suite: lint, migrations, translations compile."""

import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command


def test_ruff_check_is_clean():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "."],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    # Raises SystemExit(1) when a migration is missing.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_translation_catalogs_compile_without_errors():
    result = subprocess.run(
        [sys.executable, "scripts/compile_messages.py"],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_third_party_strings_are_translated_into_kazakh_and_russian():
    # Django's, the admin's and DRF's own kk catalogs are incomplete: locale/contrib covers every msgid.
    result = subprocess.run(
        [sys.executable, "locale/contrib/check_coverage.py"], cwd=settings.BASE_DIR, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
