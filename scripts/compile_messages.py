"""Compile every translation catalog under locale/ with Babel (no GNU gettext needed on a fresh machine).

Fails (exit 1) on a catalog Babel cannot compile, e.g. a broken placeholder.
"""

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent / "locale"


def main() -> int:
    failures = 0
    for po_path in sorted(ROOT.glob("**/LC_MESSAGES/*.po")):
        locale = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        errors = [(message, err) for message, errs in catalog.check() for err in errs]
        for message, err in errors:
            print(f"{po_path}: {message.id!r}: {err}", file=sys.stderr)
        failures += len(errors)
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=False)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
