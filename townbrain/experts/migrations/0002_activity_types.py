"""Activity types become data (活动类型 vocabulary), seeded with the words offices use.

The activity's column `activity_type` keeps its values: the four codes of the old fixed list
(site_visit, review, training, other) are the codes of the seeded types 现场指导, 方案评审, 专题培训
and 其他, so the column turns into a foreign key to ActivityType.code without rewriting a row.
"""

import django.db.models.deletion
from django.db import migrations, models

# (code, name, synonyms): the list first, then the words the old import already understood.
SEED = [
    ("site_visit", "现场指导", "技术指导、驻镇指导、现场、指导、踏勘、现场服务、实地指导、下乡、site visit、visit"),
    ("consulting", "技术咨询", "咨询、consulting、consultation"),
    ("review", "方案评审", "评审、项目评审、评审会、审查、论证、评估、审核、review"),
    ("training", "专题培训", "培训、业务培训、培训会、讲座、授课、辅导、培训讲座、training"),
    ("survey", "调研走访", "调研、走访、现场调研、survey"),
    ("meeting", "座谈对接", "座谈、会议、对接、meeting"),
    ("other", "其他", "其它、other"),
]


def seed(apps, schema_editor):
    ActivityType = apps.get_model("experts", "ActivityType")
    for order, (code, name, synonyms) in enumerate(SEED, start=1):
        ActivityType.objects.update_or_create(code=code, defaults={"name": name, "synonyms": synonyms,
                                                                   "order": order * 10, "active": True})


def unseed(apps, schema_editor):
    pass  # the column goes back to plain text holding the same codes


class Migration(migrations.Migration):

    dependencies = [
        ("experts", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="ActivityType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("code", models.SlugField(help_text="Stable key used by the API and filters, e.g. consulting",
                                          max_length=20, unique=True, verbose_name="code")),
                ("name", models.CharField(max_length=40, unique=True, verbose_name="name")),
                ("synonyms", models.CharField(blank=True, help_text="Other words offices use for this type, "
                                              "separated by 、", max_length=500, verbose_name="synonyms")),
                ("active", models.BooleanField(default=True, verbose_name="active")),
                ("order", models.PositiveIntegerField(default=0, verbose_name="order")),
            ],
            options={
                "verbose_name": "activity type",
                "verbose_name_plural": "activity types",
                "ordering": ["order", "name"],
            },
        ),
        migrations.RunPython(seed, unseed),
        migrations.RemoveConstraint(
            model_name="expertactivity",
            name="experts_activity_natural_key",
        ),
        migrations.AlterField(
            model_name="expertactivity",
            name="activity_type",
            field=models.ForeignKey(db_column="activity_type", on_delete=django.db.models.deletion.PROTECT,
                                    related_name="activities", to="experts.activitytype", to_field="code",
                                    verbose_name="activity type"),
        ),
        migrations.AddField(
            model_name="expertactivity",
            name="type_word",
            field=models.CharField(blank=True, max_length=40, verbose_name="activity type as written"),
        ),
        migrations.AddConstraint(
            model_name="expertactivity",
            constraint=models.UniqueConstraint(fields=("town", "date", "activity_type", "type_word", "expert_names"),
                                               name="experts_activity_natural_key"),
        ),
    ]
