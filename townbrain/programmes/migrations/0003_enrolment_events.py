"""The consequences of a grade as data: an enrolment's flag and the history of role changes, exits
and flags that assessment runs caused (see EnrolmentEvent)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_audit_immutable"),
        ("programmes", "0002_ship_programmes"),
    ]

    operations = [
        migrations.AddField(
            model_name="enrolment",
            name="flagged_year",
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name="flagged in"),
        ),
        migrations.AddField(
            model_name="enrolment",
            name="flag_reason",
            field=models.CharField(blank=True, max_length=200, verbose_name="flag"),
        ),
        migrations.CreateModel(
            name="EnrolmentEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("year", models.PositiveSmallIntegerField(verbose_name="from year")),
                ("kind", models.CharField(choices=[("role", "Moved to another list"), ("exit", "Left the programme"),
                                                   ("flag", "Flagged")], max_length=10, verbose_name="kind")),
                ("reason", models.CharField(max_length=200, verbose_name="reason")),
                ("source", models.CharField(blank=True, help_text="What decided it, e.g. the assessment run.",
                                            max_length=200, verbose_name="source")),
                ("enrolment", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="events",
                                                to="programmes.enrolment", verbose_name="enrolment")),
                ("programme", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                to="programmes.programme", verbose_name="programme")),
                ("role_after", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                 related_name="+", to="programmes.programmerole",
                                                 verbose_name="role after")),
                ("role_before", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                                  related_name="+", to="programmes.programmerole",
                                                  verbose_name="role before")),
                ("town", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                           to="core.orgunit", verbose_name="town")),
            ],
            options={
                "verbose_name": "enrolment event",
                "verbose_name_plural": "enrolment events",
                "ordering": ["enrolment_id", "year", "id"],
                "indexes": [models.Index(fields=["programme", "kind", "year"], name="programmes_event_lookup")],
                "constraints": [models.UniqueConstraint(fields=("enrolment", "kind", "year"),
                                                        name="programmes_event_once_a_year")],
            },
        ),
    ]
