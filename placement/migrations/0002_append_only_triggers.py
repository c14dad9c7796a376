"""The chronology and the published protocols are append-only in the database itself (PostgreSQL).

The models refuse updates and deletes too; the trigger also stops raw SQL and other clients. TRUNCATE (used by
test flushes and deliberate maintenance) is not affected. SQLite, the embedded default, relies on the models.
"""

from django.db import migrations

TABLES = ("placement_placeevent", "placement_protocol")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION indigo_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, None)  # no parameters: keep plpgsql's % as is
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION indigo_refuse_change()",
            None,
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS indigo_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("placement", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
