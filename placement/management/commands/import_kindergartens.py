from placement.services.imports import kindergartens_import

from ._table_import import TableImportCommand


class Command(TableImportCommand):
    help = (
        "Load a city's kindergartens and groups from a CSV (UTF-8) or XLSX file, all or nothing. "
        "The columns are described in docs/IMPORT.md."
    )
    row_help = "one row per group"

    def import_rows(self, *, rows, city, file):
        return kindergartens_import(rows=rows, city=city)

    def summary(self, result) -> str:
        return (
            f"{result.city.slug}: kindergartens {result.kindergartens_created} created, "
            f"{result.kindergartens_updated} updated, {result.kindergartens_unchanged} unchanged; "
            f"groups {result.groups_created} created, {result.groups_updated} updated, "
            f"{result.groups_unchanged} unchanged" + (" (city created)" if result.city_created else "")
        )
