from django.core.management.base import BaseCommand, CommandError

from placement.services.imports import ImportRejected, kindergartens_import, table_read


class Command(BaseCommand):
    help = (
        "Load a city's kindergartens and groups from a CSV (UTF-8) or XLSX file, all or nothing. "
        "The columns are described in docs/IMPORT.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv or .xlsx file, one row per group")
        parser.add_argument("--city", help="the slug of the city every row belongs to (else the city_slug column)")

    def handle(self, *args, file, city=None, **options):
        try:
            rows = table_read(file)
            result = kindergartens_import(rows=rows, city=city)
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from exc
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(f"{len(exc.problems)} problem(s) found; nothing was imported.") from exc
        self.stdout.write(
            f"{result.city.slug}: kindergartens {result.kindergartens_created} created, "
            f"{result.kindergartens_updated} updated, {result.kindergartens_unchanged} unchanged; "
            f"groups {result.groups_created} created, {result.groups_updated} updated, "
            f"{result.groups_unchanged} unchanged" + (" (city created)" if result.city_created else "")
        )
        self.stdout.write(self.style.SUCCESS("Imported." if result.changed else "Nothing to change."))
