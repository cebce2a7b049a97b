"""The event categories (大类 / 小类 with deadlines) of the four platforms, as data offices may change."""

from django.db import migrations


def seed(apps, schema_editor):
    from townbrain.governance.categories import seed as seed_categories

    seed_categories(apps.get_model("governance", "EventCategory"))


def unseed(apps, schema_editor):
    from townbrain.governance.categories import CATEGORIES

    EventCategory = apps.get_model("governance", "EventCategory")
    codes = [c for groups in CATEGORIES.values() for (code, _n), children in groups
             for c in [code, *(child[0] for child in children)]]
    EventCategory.objects.filter(code__in=codes, parent__isnull=False).delete()
    EventCategory.objects.filter(code__in=codes).delete()


class Migration(migrations.Migration):
    dependencies = [("governance", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
