"""A frozen assessment run and its results cannot be changed: the database itself refuses an UPDATE.

(DELETE stays refused by the services and the models; a DELETE trigger would also stop the test
runner's table flush on SQLite — the same choice as the audit log's, core/0002.)
"""

from django.db import migrations

SQLITE_UP = ["""
CREATE TRIGGER assessments_run_frozen BEFORE UPDATE ON assessments_run WHEN OLD.frozen
BEGIN SELECT RAISE(ABORT, 'a frozen assessment run cannot be changed'); END;
""", """
CREATE TRIGGER assessments_result_frozen BEFORE UPDATE ON assessments_result
WHEN (SELECT frozen FROM assessments_run WHERE id = OLD.run_id)
BEGIN SELECT RAISE(ABORT, 'results of a frozen assessment run cannot be changed'); END;
"""]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS assessments_run_frozen", "DROP TRIGGER IF EXISTS assessments_result_frozen"]
PG_UP = """
CREATE OR REPLACE FUNCTION assessments_run_frozen() RETURNS trigger AS $$
BEGIN
  IF OLD.frozen THEN RAISE EXCEPTION 'a frozen assessment run cannot be changed'; END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_run_frozen BEFORE UPDATE ON assessments_run
FOR EACH ROW EXECUTE FUNCTION assessments_run_frozen();
CREATE OR REPLACE FUNCTION assessments_result_frozen() RETURNS trigger AS $$
BEGIN
  IF (SELECT frozen FROM assessments_run WHERE id = OLD.run_id) THEN
    RAISE EXCEPTION 'results of a frozen assessment run cannot be changed';
  END IF;
  RETURN NEW;
END; $$ LANGUAGE plpgsql;
CREATE TRIGGER assessments_result_frozen BEFORE UPDATE ON assessments_result
FOR EACH ROW EXECUTE FUNCTION assessments_result_frozen();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS assessments_run_frozen ON assessments_run;
DROP FUNCTION IF EXISTS assessments_run_frozen();
DROP TRIGGER IF EXISTS assessments_result_frozen ON assessments_result;
DROP FUNCTION IF EXISTS assessments_result_frozen();
"""


def forwards(apps, schema_editor):
    for sql in {"sqlite": SQLITE_UP, "postgresql": [PG_UP]}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    for sql in {"sqlite": SQLITE_DOWN, "postgresql": [PG_DOWN]}.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
