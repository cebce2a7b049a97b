"""十个统筹: the ten headings of a county's plan, as 余杭's work plans name them (DOMAIN §3, seeds/002).

The shipped 城乡区域统筹 categories (programmes 0002) had 统筹生态环境, 统筹农村集体经济 and 统筹社会管理 where the
余杭 document lists 生态文明建设, 农村新型集体经济发展 and 资源要素配置. This brings a database to the ten of
programmes/fixtures_data.py (what a new database ships): the two renamed while they still bear the shipped name,
统筹资源要素配置 added, the ten in the document's order, and 统筹社会管理 removed unless a project uses it.
"""

from django.db import migrations

SHIPPED_NAMES = {"shengtai": "统筹生态环境", "jiti": "统筹农村集体经济"}
DROPPED = ("shehuiguanli", "统筹社会管理")


def forwards(apps, schema_editor):
    from townbrain.programmes.fixtures_data import PROGRAMMES

    Programme = apps.get_model("programmes", "Programme")
    Category = apps.get_model("programmes", "Category")
    Project = apps.get_model("projects", "Project")
    programme = Programme.objects.filter(code="tongchou").first()
    if programme is None:
        return
    spec = next(p for p in PROGRAMMES if p["code"] == "tongchou")
    for order, (code, name) in enumerate(spec["categories"]):
        category, created = Category.objects.get_or_create(programme=programme, code=code,
                                                           defaults={"name": name, "order": order})
        if created:
            continue
        if SHIPPED_NAMES.get(code) == category.name:
            category.name = name
        category.order = order
        category.save(update_fields=["name", "order"])
    dropped = Category.objects.filter(programme=programme, code=DROPPED[0], name=DROPPED[1]).first()
    if dropped is not None and not Project.objects.filter(category=dropped).exists():
        dropped.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workplans", "0001_initial"),
        ("programmes", "0002_ship_programmes"),
    ]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
