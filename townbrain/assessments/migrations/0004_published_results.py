"""Published result lists: the official outcome as the province printed it (town, score, grade)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_audit_immutable"),
        ("programmes", "0003_enrolment_events"),
        ("assessments", "0003_scheme_consequences"),
    ]

    operations = [
        migrations.CreateModel(
            name="PublishedList",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("year", models.PositiveSmallIntegerField(verbose_name="year")),
                ("area", models.CharField(blank=True, max_length=12, verbose_name="area (division code)")),
                ("area_name", models.CharField(blank=True, max_length=100, verbose_name="area")),
                ("title", models.CharField(blank=True, help_text="As published, e.g. 2020年度特色小镇考核结果.",
                                           max_length=200, verbose_name="title")),
                ("published_on", models.DateField(blank=True, null=True, verbose_name="published on")),
                ("recorded_by_name", models.CharField(blank=True, max_length=150, verbose_name="recorded by")),
                ("programme", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                to="programmes.programme", verbose_name="programme")),
            ],
            options={
                "verbose_name": "published result list",
                "verbose_name_plural": "published result lists",
                "ordering": ["programme_id", "-year", "area"],
                "constraints": [models.UniqueConstraint(fields=("programme", "year", "area"),
                                                        name="assessments_published_once")],
            },
        ),
        migrations.CreateModel(
            name="PublishedResult",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("score", models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True,
                                              verbose_name="score")),
                ("grade", models.CharField(max_length=30, verbose_name="grade")),
                ("rank", models.PositiveIntegerField(blank=True, null=True, verbose_name="rank")),
                ("published", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="results",
                                                to="assessments.publishedlist")),
                ("town", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                           to="core.orgunit", verbose_name="town")),
            ],
            options={
                "verbose_name": "published result",
                "verbose_name_plural": "published results",
                "ordering": ["published_id", "rank", "town_id"],
                "constraints": [models.UniqueConstraint(fields=("published", "town"),
                                                        name="assessments_published_town_once")],
            },
        ),
    ]
