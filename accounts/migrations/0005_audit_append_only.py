"""The audit log is append-only in the database itself (PostgreSQL), like the place chronology and the protocols.

Reuses the trigger function of placement migration 0002. TRUNCATE (test flushes, deliberate maintenance) is not
affected. SQLite, the embedded default, relies on the model.
"""

from django.db import migrations

TABLE = "accounts_auditentry"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE ON {TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION indigo_refuse_change()",
        None,
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE}", None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_cabinetblock"), ("placement", "0002_append_only_triggers")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
