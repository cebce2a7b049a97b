"""Work plans (DOMAIN §3): 一镇一方案 (one plan per town, its items under the 五美 of 美丽城镇) and 十个统筹 (a
county's ten coordinations of 城乡区域统筹), each item with a goal, a deadline and the ledger projects that carry
it out.

- `WorkPlan`: an org unit's plan — a town's 一镇一方案 or a county's 十个统筹 — in a programme (美丽城镇 or
  城乡区域统筹), with a title, the years it covers (or its approval date) and a status.
- `WorkPlanItem`: one item of a plan under a heading, a goal (目标), a deadline (完成时限), the unit responsible
  (责任单位) and its linked projects (projects of the plan's subtree).

Headings are data, never code: an item's heading is a `programmes.Category` of the plan's programme — the 五美
of 美丽城镇 for a town plan, the ten 统筹 of 城乡区域统筹 for a county plan (seeded by migrations).

Progress is computed from the linked projects, never typed (progress.py): `WorkPlan.objects.with_progress()`
hands out plans with their `figures` worked out for the whole page or list at once.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from townbrain.core.models import Level, OrgUnit, TimeStampedModel
from townbrain.core.querysets import RestrictedManager, RestrictedQuerySet


class Kind(models.TextChoices):
    TOWN = "town", _("One plan per town (一镇一方案)")
    COUNTY = "county", _("Ten coordinations (十个统筹)")


# The level of the org unit each kind of plan belongs to, and the programme whose categories head its items
# when the plan names none (an import, the demo).
KIND_LEVEL = {Kind.TOWN: Level.TOWN, Kind.COUNTY: Level.COUNTY}
KIND_PROGRAMME = {Kind.TOWN: "meili", Kind.COUNTY: "tongchou"}
# The data standard writes kinds in Chinese whatever the user's language (imports read them, exports write them).
KIND_CHINESE = {Kind.TOWN: "一镇一方案", Kind.COUNTY: "十个统筹"}


# The data standard's column headers (kind `work_plan_items`, docs/data-standard.md): one row per item.
ITEM_HEADERS = {
    "org_unit": "单位代码", "kind": "方案类型", "title": "方案名称", "heading": "分类", "goal": "目标",
    "deadline": "完成时限", "projects": "关联项目编号", "owner": "责任单位",
}


class PlanStatus(models.TextChoices):
    DRAFT = "draft", _("Drafting (编制中)")
    APPROVED = "approved", _("Approved (已批复)")
    CLOSED = "closed", _("Closed (已结束)")


class ProgressIterable(ModelIterable):
    """Plans fetched together get their figures computed together: two queries for the whole batch."""

    def __iter__(self):
        from .progress import attach

        plans = list(super().__iter__())
        attach(plans)
        yield from plans


class WorkPlanQuerySet(RestrictedQuerySet):
    def with_progress(self):
        """The same plans, each with `figures` (progress.PlanFigures) once fetched; slicing and filtering keep it."""
        clone = self._chain()
        clone._iterable_class = ProgressIterable
        return clone


class WorkPlan(TimeStampedModel):
    scope_field = "org_unit__code"

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("org unit"), on_delete=models.PROTECT,
                                 related_name="work_plans")
    kind = models.CharField(_("kind of plan"), max_length=8, choices=Kind.choices)
    programme = models.ForeignKey("programmes.Programme", verbose_name=_("programme"), on_delete=models.PROTECT,
                                  related_name="work_plans")
    title = models.CharField(_("plan title"), max_length=200)
    start_year = models.PositiveSmallIntegerField(_("start year"), null=True, blank=True)
    end_year = models.PositiveSmallIntegerField(_("end year"), null=True, blank=True)
    approved_on = models.DateField(_("approved on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    note = models.TextField(_("note"), blank=True)

    objects = WorkPlanQuerySet.as_manager()

    class Meta:
        ordering = ["org_unit_id", "kind", "title", "pk"]
        verbose_name = _("work plan")
        verbose_name_plural = _("work plans")
        constraints = [
            # The natural key an import matches a row's plan on (单位代码, 方案类型, 方案名称).
            models.UniqueConstraint(fields=["org_unit", "kind", "title"], name="workplans_plan_natural_key"),
        ]
        indexes = [
            models.Index(fields=["org_unit"], name="workplans_plan_org_prefix", opclasses=["text_pattern_ops"]),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("workplan-detail", args=[self.pk])

    @property
    def years(self) -> str:
        if self.start_year and self.end_year and self.end_year != self.start_year:
            return f"{self.start_year}–{self.end_year}"
        return str(self.start_year or self.end_year or "")

    @cached_property
    def figures(self):
        """Progress from the linked projects (progress.PlanFigures); lists set it for many plans at once."""
        from .progress import attach

        attach([self])
        return self.__dict__["figures"]

    def clean(self):
        errors = {}
        for name in ("start_year", "end_year"):
            year = getattr(self, name)
            if year is not None and not 1990 <= year <= 2100:
                errors[name] = _("Give a year between 1990 and 2100.")
        if self.start_year and self.end_year and self.end_year < self.start_year:
            errors["end_year"] = _("The plan cannot end before it starts.")
        if self.org_unit_id and self.kind in KIND_LEVEL and self.org_unit.level != KIND_LEVEL[self.kind]:
            errors["org_unit"] = _("A plan of kind “%(kind)s” belongs to a %(level)s; %(code)s is a %(actual)s.") % {
                "kind": self.get_kind_display(), "level": Level(KIND_LEVEL[self.kind]).label,
                "code": self.org_unit_id, "actual": self.org_unit.get_level_display()}
        if errors:
            raise ValidationError(errors)


class WorkPlanItem(TimeStampedModel):
    scope_field = "plan__org_unit__code"

    plan = models.ForeignKey(WorkPlan, verbose_name=_("work plan"), on_delete=models.CASCADE, related_name="items")
    heading = models.ForeignKey("programmes.Category", verbose_name=_("heading"), on_delete=models.PROTECT,
                                related_name="work_plan_items")
    goal = models.CharField(_("goal"), max_length=500)
    deadline = models.DateField(_("completion deadline"), null=True, blank=True)
    owner = models.CharField(_("responsible unit"), max_length=200, blank=True)
    projects = models.ManyToManyField("projects.Project", verbose_name=_("linked projects"), blank=True,
                                      related_name="work_plan_items")

    objects = RestrictedManager()

    class Meta:
        ordering = ["plan_id", "heading__order", "heading_id", "deadline", "pk"]
        verbose_name = _("work plan item")
        verbose_name_plural = _("work plan items")
        constraints = [
            # An item is its plan, heading and goal: what an import matches a row on.
            models.UniqueConstraint(fields=["plan", "heading", "goal"], name="workplans_item_natural_key"),
        ]

    def __str__(self):
        return self.goal[:80]

    def get_absolute_url(self):
        return reverse("workplan-item-edit", args=[self.pk])

    @cached_property
    def figures(self):
        """Progress from the linked projects (progress.ItemFigures): no query once `projects` is prefetched."""
        from .progress import item_figures

        return item_figures(self.projects.all(), self.deadline)
