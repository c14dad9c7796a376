from placement.services.queue_import import queue_import

from ._table_import import TableImportCommand


class Command(TableImportCommand):
    help = (
        "Migrate a queue from another system: parents, children, confirmed representations and privileges, "
        "applications with their original times, from a CSV (UTF-8) or XLSX file, all or nothing. "
        "The columns are described in docs/IMPORT_QUEUE.md."
    )
    row_help = "one row per application"

    def import_rows(self, *, rows, city, file):
        return queue_import(rows=rows, city=city, source=file)

    def summary(self, result) -> str:
        return (
            f"{', '.join(result.cities)}: applications {result.applications_created} created "
            f"({result.applications_renumbered} with a new number), {result.applications_unchanged} already here; "
            f"parents {result.parents_created} created, {result.parents_completed} completed; "
            f"children {result.children_created} created; representations {result.representations_created} "
            f"created, {result.representations_confirmed} confirmed"
        )
