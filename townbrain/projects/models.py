"""The project ledger (项目化管理) and monthly progress reports (月报)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager
from townbrain.programmes.models import Category, Programme

MONEY = {"max_digits": 14, "decimal_places": 2}


class Status(models.TextChoices):
    PLANNED = "planned", _("Planned (谋划)")
    PREPARING = "preparing", _("Preparing (前期)")
    STARTED = "started", _("Started (开工)")
    COMPLETED = "completed", _("Completed (完工)")
    SUSPENDED = "suspended", _("Suspended (暂停)")
    CANCELLED = "cancelled", _("Cancelled (取消)")


# Statuses that mean the project has broken ground.
STARTED_STATUSES = {Status.STARTED, Status.COMPLETED, Status.SUSPENDED}


class Project(TimeStampedModel):
    scope_field = "town__code"

    code = models.CharField(_("project code"), max_length=40)
    name = models.CharField(_("project name"), max_length=200)
    # No index of their own: the town prefix index and the (programme, …) indexes below serve their
    # look-ups, and every index is one more write per project (an import writes 100,000).
    town = models.ForeignKey(OrgUnit, verbose_name=_("town"), on_delete=models.PROTECT, related_name="projects",
                             db_index=False)
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="projects", db_index=False)
    category = models.ForeignKey(Category, verbose_name=_("category"), on_delete=models.PROTECT,
                                 null=True, blank=True, related_name="projects")
    owner_unit = models.CharField(_("owner unit"), max_length=200, blank=True)
    total_investment = models.DecimalField(_("total investment (10k yuan)"), **MONEY, default=0)
    annual_plan = models.DecimalField(_("annual planned investment (10k yuan)"), **MONEY, default=0)
    planned_start = models.DateField(_("planned start"), null=True, blank=True)
    actual_start = models.DateField(_("actual start"), null=True, blank=True)
    planned_completion = models.DateField(_("planned completion"), null=True, blank=True)
    actual_completion = models.DateField(_("actual completion"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    # The latest reported figures, kept by report_progress so lists and roll-ups need no join.
    cumulative_investment = models.DecimalField(_("cumulative investment (10k yuan)"), **MONEY, default=0)
    progress_percent = models.DecimalField(_("physical progress (%)"), max_digits=5, decimal_places=2, default=0)
    last_period = models.CharField(_("last reported period"), max_length=6, blank=True)
    # Raised by one on every audited edit; the token of optimistic locking (core/conflicts.py).
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)

    objects = RestrictedManager()

    class Meta:
        ordering = ["programme_id", "code"]
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        constraints = [
            models.UniqueConstraint(fields=["programme", "code"], name="projects_project_code_unique"),
        ]
        indexes = [
            models.Index(fields=["town"], name="projects_town_prefix", opclasses=["text_pattern_ops"]),
            models.Index(fields=["programme", "planned_start"], name="projects_programme_start"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class ProgressReport(TimeStampedModel):
    """One project's monthly report: period YYYYMM, money in 万元."""

    scope_field = "project__town__code"

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.CASCADE,
                                related_name="reports")
    period = models.CharField(_("period (YYYYMM)"), max_length=6)
    month_investment = models.DecimalField(_("investment this month (10k yuan)"), **MONEY, default=0)
    cumulative_investment = models.DecimalField(_("cumulative investment (10k yuan)"), **MONEY, default=0)
    progress_percent = models.DecimalField(_("physical progress (%)"), max_digits=5, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    problems = models.TextField(_("problems"), blank=True)
    correction_reason = models.TextField(_("correction reason"), blank=True)

    objects = RestrictedManager()

    class Meta:
        ordering = ["project_id", "period"]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        constraints = [models.UniqueConstraint(fields=["project", "period"], name="projects_report_unique")]

    def __str__(self):
        return f"{self.project.code} {self.period}"


class MonthlyPlan(models.Model):
    """A project's own plan curve: the physical progress (and cumulative investment) due by a month.

    Without one, the plan is linear from planned start to planned completion.
    """

    project = models.ForeignKey(Project, verbose_name=_("project"), on_delete=models.CASCADE,
                                related_name="monthly_plan")
    period = models.CharField(_("period (YYYYMM)"), max_length=6)
    planned_progress = models.DecimalField(_("planned physical progress (%)"), max_digits=5, decimal_places=2)
    planned_cumulative = models.DecimalField(_("planned cumulative investment (10k yuan)"), **MONEY,
                                             null=True, blank=True)

    class Meta:
        ordering = ["project_id", "period"]
        verbose_name = _("monthly plan")
        verbose_name_plural = _("monthly plans")
        constraints = [models.UniqueConstraint(fields=["project", "period"], name="projects_monthlyplan_unique")]

    def __str__(self):
        return f"{self.project.code} {self.period} {self.planned_progress}%"


class RollupCell(models.Model):
    """One cell of the live roll-up table (see projects/rollups/): a sum over the projects of a subtree.

    Keyed by an ancestor's division code (province, city, county or town), programme, category,
    the town's role and batch in the programme (an id; 0 = none; -1 = all of them, for the cells
    that answer a request leaving that filter open), a kind of figure and a month. Kept current
    inside the write transaction of every service that changes a project, a report or an
    enrolment; `townbrain rollups rebuild` recomputes it from the ledger.
    """

    # No foreign key in the database (db_constraint=False): the cells are derived, rebuilt from the
    # ledger (`townbrain rollups rebuild`) and checked against it by `townbrain doctor`, and the
    # constraint was checked on every new cell, ~366,000 times per 100,000 imported projects.
    # Deleting a programme still deletes its cells: CASCADE is Django's, not the database's.
    programme = models.ForeignKey(Programme, verbose_name=_("programme"), on_delete=models.CASCADE,
                                  related_name="+", db_index=False, db_constraint=False)
    org = models.CharField(_("org unit"), max_length=12)
    category = models.IntegerField(_("category id (0 none, -1 all)"), default=-1)
    role = models.IntegerField(_("role id (0 none, -1 all)"), default=-1)
    batch = models.IntegerField(_("batch id (0 none, -1 all)"), default=-1)
    kind = models.CharField(_("kind"), max_length=8)
    month = models.CharField(_("month (YYYYMM)"), max_length=6, blank=True)
    n = models.IntegerField(_("count"), default=0)
    cents = models.BigIntegerField(_("amount (0.01 10k yuan)"), default=0)

    class Meta:
        verbose_name = _("roll-up cell")
        verbose_name_plural = _("roll-up cells")
        constraints = [
            # Reads ask for (programme, org, category, role, batch) and month <= P: the key's own index.
            models.UniqueConstraint(fields=["programme", "org", "category", "role", "batch", "month", "kind"],
                                    name="projects_rollupcell_key"),
        ]

    def __str__(self):
        return f"{self.org} {self.kind} {self.month}"
