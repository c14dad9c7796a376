"""What both table imports do the same way: read the file, import all or nothing, report every problem."""

from django.core.management.base import BaseCommand, CommandError

from placement.services.imports import ImportRejected, table_read


class TableImportCommand(BaseCommand):
    row_help = "one row per record"

    def add_arguments(self, parser):
        parser.add_argument("file", help=f"a .csv or .xlsx file, {self.row_help}")
        parser.add_argument("--city", help="the slug of the city every row belongs to (else the city_slug column)")

    def import_rows(self, *, rows, city: str | None, file: str):
        raise NotImplementedError

    def summary(self, result) -> str:
        raise NotImplementedError

    def handle(self, *args, file, city=None, **options):
        try:
            result = self.import_rows(rows=table_read(file), city=city, file=str(file))
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from exc
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(f"{len(exc.problems)} problem(s) found; nothing was imported.") from exc
        self.stdout.write(self.summary(result))
        self.stdout.write(self.style.SUCCESS("Imported." if result.changed else "Nothing to change."))
