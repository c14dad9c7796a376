#!/usr/bin/env python
"""Check that every third-party string a user can see has a kk and a ru translation.

For each checked package (Django core, django.contrib.admin/auth/contenttypes/sessions/humanize,
rest_framework, modeltranslation) the list of msgids is taken from the installed package itself:
Django's English catalogs (``locale/en/LC_MESSAGES/*.po``), rest_framework's English catalog plus the
strings extracted from its Python source, and the strings extracted from modeltranslation's source
(tests excluded). A msgid counts as translated for a language when the *merged* catalog that Django
builds has a non-empty translation for it (every plural form non-empty, fuzzy entries ignored):
the packages' own compiled catalogs (``.mo``, as used at run time) united with the project's
``locale/<lang>`` and ``locale/contrib/<lang>`` catalogs (read from ``.po``, since ``.mo`` files are
not committed). The 'django' domain is merged across all packages; 'djangojs' is the admin's
JavaScript catalog.

The project's own catalogs under locale/contrib are also validated: placeholders (``%(name)s``,
``%s``, ``{name}``) must match the msgid, plural entries must have as many forms as the
Plural-Forms header says, and that header must be the one Django's catalog for the language uses.

Not checked, deliberately: django.contrib.admindocs, flatpages, gis, postgres, redirects, sites and
sitemaps (not installed in INDIGO), drf_spectacular (developer-facing OpenAPI descriptions, it ships
no catalogs), and rest_framework/modeltranslation test-only strings.

Usage: .venv/bin/python locale/contrib/check_coverage.py [-v] [LANG ...]   (default: kk ru)
Exit status 1 when something is missing or invalid.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import django
import modeltranslation
import rest_framework
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

CONTRIB_DIR = Path(__file__).resolve().parent
PROJECT_LOCALE_DIRS = [CONTRIB_DIR.parent, CONTRIB_DIR]  # locale/ and locale/contrib/
DJANGO_DIR = Path(django.__file__).parent
DRF_DIR = Path(rest_framework.__file__).parent
MT_DIR = Path(modeltranslation.__file__).parent

# (label, domain, package locale dir, how to get the msgids)
PACKAGES = [
    ("django", "django", DJANGO_DIR / "conf" / "locale", "en-po"),
    ("django.contrib.admin", "django", DJANGO_DIR / "contrib" / "admin" / "locale", "en-po"),
    ("django.contrib.admin (js)", "djangojs", DJANGO_DIR / "contrib" / "admin" / "locale", "en-po"),
    ("django.contrib.auth", "django", DJANGO_DIR / "contrib" / "auth" / "locale", "en-po"),
    ("django.contrib.contenttypes", "django", DJANGO_DIR / "contrib" / "contenttypes" / "locale", "en-po"),
    ("django.contrib.sessions", "django", DJANGO_DIR / "contrib" / "sessions" / "locale", "en-po"),
    ("django.contrib.humanize", "django", DJANGO_DIR / "contrib" / "humanize" / "locale", "en-po"),
    ("rest_framework", "django", DRF_DIR / "locale", "en-mo+source"),
    ("modeltranslation", "django", MT_DIR / "locale", "source"),
]
SOURCE_DIRS = {"rest_framework": DRF_DIR, "modeltranslation": MT_DIR}

KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}

PLACEHOLDER = re.compile(
    r"%\([A-Za-z0-9_]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]"
    r"|\{[^{}]*\}"
)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def key_of(msg) -> tuple[str, str | None]:
    """Catalog key of a Babel message: (singular msgid, context)."""
    msgid = msg.id if isinstance(msg.id, str) else msg.id[0]
    context = msg.context
    if isinstance(context, bytes):  # babel's read_mo returns the context undecoded
        context = context.decode("utf-8")
    return (msgid, context)


def is_translated(msg) -> bool:
    if msg is None or msg.fuzzy:
        return False
    if isinstance(msg.string, (list, tuple)):
        return bool(msg.string) and all(msg.string)
    return bool(msg.string)


def read_catalog(path: Path):
    with path.open("rb") as fh:
        return read_mo(fh) if path.suffix == ".mo" else read_po(fh)


def source_msgids(src_dir: Path) -> dict[tuple[str, str | None], str]:
    found = {}
    method_map = [("**/tests/**", "ignore"), ("**/migrations/**", "ignore"), ("**.py", "python")]
    for filename, _lineno, msg, _comments, context in extract_from_dir(
        str(src_dir), method_map=method_map, keywords=KEYWORDS
    ):
        if not isinstance(msg, str):
            msg = msg[0]
        if msg:
            found[(msg, context)] = filename
    return found


def package_msgids(label: str, domain: str, locale_dir: Path, how: str) -> set[tuple[str, str | None]]:
    ids: set[tuple[str, str | None]] = set()
    if how == "en-po":
        ids |= {key_of(m) for m in read_catalog(locale_dir / "en" / "LC_MESSAGES" / f"{domain}.po") if m.id}
    if how == "en-mo+source":
        ids |= {key_of(m) for m in read_catalog(locale_dir / "en" / "LC_MESSAGES" / f"{domain}.mo") if m.id}
    if how in ("en-mo+source", "source"):
        ids |= set(source_msgids(SOURCE_DIRS[label.split(" ")[0]]))
    return ids


def merged_translations(lang: str, domain: str, package_dirs: list[Path]) -> set[tuple[str, str | None]]:
    """Keys that have a usable translation somewhere in the merged catalog for (lang, domain)."""
    done: set[tuple[str, str | None]] = set()
    for locale_dir in package_dirs:
        path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.mo"
        if path.exists():
            done |= {key_of(m) for m in read_catalog(path) if m.id and is_translated(m)}
    for locale_dir in PROJECT_LOCALE_DIRS:
        path = locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"
        if path.exists():
            done |= {key_of(m) for m in read_catalog(path) if m.id and is_translated(m)}
    return done


def django_plural_forms(lang: str) -> str | None:
    path = DJANGO_DIR / "conf" / "locale" / lang / "LC_MESSAGES" / "django.po"
    if not path.exists():
        return None
    header = read_catalog(path).mime_headers
    value = dict(header).get("Plural-Forms")
    return value.replace(" ", "").rstrip(";") if value else None


def validate_contrib_catalog(
    path: Path, lang: str, all_ids: set[tuple[str, str | None]]
) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    catalog = read_catalog(path)
    expected = django_plural_forms(lang)
    actual = (dict(catalog.mime_headers).get("Plural-Forms") or "").replace(" ", "").rstrip(";")
    if expected and actual != expected:
        errors.append(f"{path}: Plural-Forms {actual!r} differs from Django's {expected!r}")
    nplurals = catalog.num_plurals
    for msg in catalog:
        if not msg.id:
            continue
        where = f"{path.relative_to(CONTRIB_DIR.parent.parent)}:{msg.lineno}"
        if msg.fuzzy:
            errors.append(f"{where}: fuzzy entry {msg.id!r}")
        if not is_translated(msg) and not msg.fuzzy:
            errors.append(f"{where}: empty translation for {msg.id!r}")
            continue
        if isinstance(msg.id, str):
            if placeholders(msg.string) != placeholders(msg.id):
                errors.append(f"{where}: placeholders {placeholders(msg.string)} != msgid's {placeholders(msg.id)}")
        else:
            forms = list(msg.string)
            if len(forms) != nplurals:
                errors.append(f"{where}: {len(forms)} plural forms, the header says {nplurals}")
            plural_ph = placeholders(msg.id[1])
            for i, form in enumerate(forms):
                ph = placeholders(form)
                # A form may drop the count placeholder ("an hour ago"), never add an unknown one.
                if not set(ph) <= set(plural_ph) | set(placeholders(msg.id[0])):
                    errors.append(f"{where}: msgstr[{i}] placeholders {ph} not in msgid's {plural_ph}")
                elif i > 0 and ph != plural_ph:
                    errors.append(f"{where}: msgstr[{i}] placeholders {ph} != msgid_plural's {plural_ph}")
        if key_of(msg) not in all_ids:
            warnings.append(f"{where}: obsolete (no installed package uses {msg.id!r})")
    return errors, warnings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("langs", nargs="*", default=["kk", "ru"])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the entries that are translated too")
    args = parser.parse_args()

    ids_by_package = {p[0]: package_msgids(*p) for p in PACKAGES}
    failures = 0
    for lang in args.langs:
        print(f"== {lang}")
        for domain in ("django", "djangojs"):
            packages = [p for p in PACKAGES if p[1] == domain]
            done = merged_translations(lang, domain, [p[2] for p in packages])
            all_ids = set().union(*(ids_by_package[p[0]] for p in packages))
            for label, *_ in packages:
                ids = ids_by_package[label]
                missing = sorted(ids - done, key=lambda k: (k[1] or "", k[0]))
                failures += len(missing)
                print(f"  {label:30} {len(ids):4} msgids, {len(missing):3} untranslated")
                for msgid, ctx in missing:
                    print(f"      MISSING [{domain}] {('(' + ctx + ') ') if ctx else ''}{msgid!r}")
            contrib_po = CONTRIB_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
            if contrib_po.exists():
                errors, warnings = validate_contrib_catalog(contrib_po, lang, all_ids)
                failures += len(errors)
                n = sum(1 for m in read_catalog(contrib_po) if m.id)
                print(
                    f"  {contrib_po.relative_to(CONTRIB_DIR.parent.parent)}: {n} entries, "
                    f"{len(errors)} errors, {len(warnings)} warnings"
                )
                for line in errors:
                    print(f"      ERROR {line}")
                for line in warnings:
                    print(f"      warning {line}")
    print("FAILED" if failures else "OK: every checked msgid has a translation")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
