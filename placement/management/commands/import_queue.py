from django.core.management.base import BaseCommand, CommandError

from placement.services.imports import ImportRejected, table_read
from placement.services.queue_import import queue_import


class Command(BaseCommand):
    help = (
        "Migrate a queue from another system: parents, children, confirmed representations and privileges, "
        "applications with their original times, from a CSV (UTF-8) or XLSX file, all or nothing. "
        "The columns are described in docs/IMPORT_QUEUE.md."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="a .csv or .xlsx file, one row per application")
        parser.add_argument("--city", help="the slug of the city every row belongs to (else the city_slug column)")

    def handle(self, *args, file, city=None, **options):
        try:
            rows = table_read(file)
            result = queue_import(rows=rows, city=city, source=str(file))
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror or exc}") from exc
        except ImportRejected as exc:
            for problem in exc.problems:
                self.stderr.write(f"{file}: {problem}")
            raise CommandError(f"{len(exc.problems)} problem(s) found; nothing was imported.") from exc
        self.stdout.write(
            f"{', '.join(result.cities)}: applications {result.applications_created} created "
            f"({result.applications_renumbered} with a new number), {result.applications_unchanged} already here; "
            f"parents {result.parents_created} created, {result.parents_completed} completed; "
            f"children {result.children_created} created; representations {result.representations_created} "
            f"created, {result.representations_confirmed} confirmed"
        )
        self.stdout.write(self.style.SUCCESS("Imported." if result.changed else "Nothing to change."))
