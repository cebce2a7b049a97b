"""Ship the five programmes with their categories, roles and batches (see fixtures_data.py).

Written with get_or_create so an administrator's later edits and additions are kept.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from townbrain.programmes.fixtures_data import PROGRAMMES

    Programme = apps.get_model("programmes", "Programme")
    Category = apps.get_model("programmes", "Category")
    Role = apps.get_model("programmes", "ProgrammeRole")
    Batch = apps.get_model("programmes", "Batch")
    for p in PROGRAMMES:
        programme, _ = Programme.objects.get_or_create(
            code=p["code"], defaults={"name": p["name"], "description": p["description"]}
        )
        for order, (code, name) in enumerate(p["categories"]):
            Category.objects.get_or_create(programme=programme, code=code, defaults={"name": name, "order": order})
        for code, name in p["roles"]:
            Role.objects.get_or_create(programme=programme, code=code, defaults={"name": name})
        for code, name, year in p["batches"]:
            Batch.objects.get_or_create(programme=programme, code=code, defaults={"name": name, "year": year})


class Migration(migrations.Migration):
    dependencies = [("programmes", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
