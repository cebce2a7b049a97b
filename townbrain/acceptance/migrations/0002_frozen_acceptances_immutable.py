"""A frozen (signed-off) acceptance cannot be changed: the database itself refuses an UPDATE of it,
and an INSERT or UPDATE of its checklist items, evidence and steps.

(DELETE stays refused by the services and the models, as for assessment runs and the audit log: a
DELETE trigger would also stop the test runner's table flush on SQLite.)
"""

from django.db import migrations

MESSAGE = "a frozen (signed-off) acceptance cannot be changed"
PARTS = ("checklistitem", "evidence", "step")  # rows inside an acceptance (acceptance_id)
OPERATIONS = ("insert", "update")


def _sqlite_up() -> list[str]:
    out = [f"CREATE TRIGGER acceptance_acceptance_frozen BEFORE UPDATE ON acceptance_acceptance WHEN OLD.frozen "
           f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"]
    for part in PARTS:
        for op in OPERATIONS:
            out.append(f"CREATE TRIGGER acceptance_{part}_frozen_{op} BEFORE {op.upper()} ON acceptance_{part} "
                       f"WHEN (SELECT frozen FROM acceptance_acceptance WHERE id = NEW.acceptance_id) "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;")
    return out


def _sqlite_down() -> list[str]:
    return ["DROP TRIGGER IF EXISTS acceptance_acceptance_frozen",
            *(f"DROP TRIGGER IF EXISTS acceptance_{part}_frozen_{op}" for part in PARTS for op in OPERATIONS)]


def _pg_up() -> list[str]:
    out = [f"""
CREATE OR REPLACE FUNCTION acceptance_acceptance_frozen() RETURNS trigger AS $$
BEGIN
  IF OLD.frozen THEN RAISE EXCEPTION '{MESSAGE}'; END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql""",
           "CREATE TRIGGER acceptance_acceptance_frozen BEFORE UPDATE ON acceptance_acceptance "
           "FOR EACH ROW EXECUTE FUNCTION acceptance_acceptance_frozen()",
           f"""
CREATE OR REPLACE FUNCTION acceptance_part_frozen() RETURNS trigger AS $$
BEGIN
  IF (SELECT frozen FROM acceptance_acceptance WHERE id = NEW.acceptance_id) THEN
    RAISE EXCEPTION '{MESSAGE}';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql"""]
    for part in PARTS:
        for op in OPERATIONS:
            out.append(f"CREATE TRIGGER acceptance_{part}_frozen_{op} BEFORE {op.upper()} ON acceptance_{part} "
                       f"FOR EACH ROW EXECUTE FUNCTION acceptance_part_frozen()")
    return out


def _pg_down() -> list[str]:
    return ["DROP TRIGGER IF EXISTS acceptance_acceptance_frozen ON acceptance_acceptance",
            *(f"DROP TRIGGER IF EXISTS acceptance_{part}_frozen_{op} ON acceptance_{part}"
              for part in PARTS for op in OPERATIONS),
            "DROP FUNCTION IF EXISTS acceptance_acceptance_frozen()", "DROP FUNCTION IF EXISTS acceptance_part_frozen()"]


def forwards(apps, schema_editor):
    for sql in {"sqlite": _sqlite_up, "postgresql": _pg_up}.get(schema_editor.connection.vendor, list)():
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in {"sqlite": _sqlite_down, "postgresql": _pg_down}.get(schema_editor.connection.vendor, list)():
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("acceptance", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
