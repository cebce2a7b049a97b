"""The exchange kind `work_plan_items` (工作方案, docs/data-standard.md): the items of 一镇一方案 and 十个统筹 plans.

Registered in `townbrain.exchange.kinds.KINDS`; writes through `workplans.services`, as the other kinds write
through their apps' services.

One row is one item. 单位代码 and 方案类型 (一镇一方案 for a town, 十个统筹 for a county; left empty, the level of the
unit tells) and 方案名称 name the plan: a plan not there yet is made (in 美丽城镇 for a town, 城乡区域统筹 for a
county). 分类 names the item's heading among the plan's programme's categories — its name, code or the words
offices use (环境美, 基础设施, 生态文明建设 …, see workplans/headings.py). 关联项目编号 lists the projects of the
plan's area the item links, separated by 、 , ; or spaces; the list given replaces the linked ones.

Natural key: the plan (单位代码, 方案类型, 方案名称), the heading and 目标. A row whose key exists updates that item's
完成时限, 责任单位 and linked projects (or leaves it unchanged); any other row creates one, so the same file imported
twice changes nothing the second time. Columns left out of a file leave the stored values alone; an empty cell
clears the value. The rows are checked together and written together (a BatchKind over
`services.WorkPlanItemBatch`, which makes a plan not there yet with its first item). Undo removes the items a batch
created — and a plan it created, once it has no items left (the plan's audit row names its first item's row).
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import bulk
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows
from townbrain.programmes.models import Category, Programme
from townbrain.projects.models import Project
from townbrain.workplans import headings, services
from townbrain.workplans.models import (
    ITEM_HEADERS,
    KIND_CHINESE,
    KIND_LEVEL,
    KIND_PROGRAMME,
    WorkPlan,
    WorkPlanItem,
)
from townbrain.workplans.models import Kind as PlanKind

from . import normalize as n
from .kind import BatchKind, Column, RowError

KIND_WORDS = {"一镇一方案": PlanKind.TOWN, "镇方案": PlanKind.TOWN, "十个统筹": PlanKind.COUNTY, "十统筹": PlanKind.COUNTY,
              "统筹方案": PlanKind.COUNTY, "town": PlanKind.TOWN, "county": PlanKind.COUNTY}
_SEPARATORS = re.compile(r"[、,，;；\s]+")


def parse_kind(value) -> str | None:
    text = "".join(n.clean_text(value).split())
    if not text:
        return None
    words = {**KIND_WORDS, **{str(label): code for code, label in PlanKind.choices}}
    if text in words or text.lower() in words:
        return words.get(text) or words[text.lower()]
    raise n.BadValue(_("“%(value)s” is not a kind of plan; use 一镇一方案 or 十个统筹.") % {"value": value})


def parse_words(value) -> str:
    return " ".join(n.clean_text(value).split())


def parse_codes(value) -> list[str]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)
    return [c for c in _SEPARATORS.split(n.clean_text(value)) if c]


class WorkPlanItemsKind(BatchKind):
    def prepare(self, actor, records):
        codes = sorted({r.get("org_unit") for r in records if r.get("org_unit")})
        self.units = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", codes)}
        self.plans = {(p.org_unit_id, p.kind, p.title): p for p in bulk.where_in(
            WorkPlan.objects.select_related("org_unit", "programme"), "org_unit_id", codes)}
        self.items = {(i.plan_id, i.heading_id, i.goal): i for i in bulk.where_in(
            WorkPlanItem.objects.all(), "plan_id", [p.pk for p in self.plans.values()])}
        self.programmes = {p.code: p for p in Programme.objects.all()}
        self.headings: dict[int, list] = {}
        for c in Category.objects.order_by("order", "id"):
            self.headings.setdefault(c.programme_id, []).append(c)
        wanted = {code for r in records for code in r.get("projects") or ()}
        self.projects: dict[str, list] = {}
        for p in bulk.where_in(Project.objects.only("pk", "code", "town_id", "programme_id"), "code", wanted):
            self.projects.setdefault(p.code, []).append(p)
        self.new_plans: dict[tuple, WorkPlan] = {}

    def build(self, actor, v: dict) -> dict:
        unit = self.units.get(v.get("org_unit"))
        if unit is None:
            raise RowError({"org_unit": _("There is no org unit with code %(code)s.") % {"code": v.get("org_unit")}})
        kind = v.get("kind") or {Level.TOWN: PlanKind.TOWN, Level.COUNTY: PlanKind.COUNTY}.get(unit.level)
        if kind is None or unit.level != KIND_LEVEL[kind]:
            raise RowError({"org_unit": _("一镇一方案 belongs to a town (9 digits), 十个统筹 to a county (6 digits); "
                                          "%(code)s is a %(level)s.") % {"code": unit.code,
                                                                          "level": unit.get_level_display()}})
        if not allows(actor, "add", unit.code):
            raise RowError({"org_unit": _("%(name)s (%(code)s) is outside your area.") % {
                "name": unit.name, "code": unit.code}})
        plan_key = (unit.code, kind, v["title"])
        plan = self.plans.get(plan_key)
        programme = plan.programme if plan else self.programmes[KIND_PROGRAMME[kind]]
        # A plan not there yet: one unsaved plan for all its rows, made with its first item (services.WorkPlanItemBatch).
        plan = plan or self.new_plans.setdefault(plan_key, WorkPlan(org_unit=unit, kind=kind, programme=programme,
                                                                    title=v["title"]))
        try:
            heading = headings.find(programme, v["heading"], self.headings.get(programme.pk, []))
            projects = services.find_projects(plan, v["projects"], self.projects) if "projects" in v else None
        except ValidationError as exc:
            raise RowError({k: " ".join(m) for k, m in exc.message_dict.items()}) from None
        fields = {k: v[k] or (None if k == "deadline" else "") for k in ("deadline", "owner") if k in v}
        if projects is not None:
            fields["projects"] = projects
        existing = self.items.get((plan.pk, heading.pk, v["goal"])) if plan.pk is not None else None
        if existing is None:
            fields.update(plan=plan, heading=heading, goal=v["goal"])
        return {"item": (existing, fields), "key": (plan_key, heading.pk, v["goal"])}

    def batch_for(self, actor):
        return services.WorkPlanItemBatch(actor)

    def history_types(self):
        return (self.object_type, "workplan")  # a row may make its plan

    def undo_many(self, actor, changes):
        """Put back a batch's changes together: the items it created removed at once, those it changed given
        back what they had by one WorkPlanItemBatch (a refusal stops the undo, nothing written), then the
        plans it made for its rows that have no items left."""
        wanted = [c.object_id for c in changes if c.object_type == self.object_type]
        items = {str(i.pk): i for i in bulk.where_in(WorkPlanItem.objects.select_related("plan"), "pk", wanted)}
        mine = [c for c in changes if c.object_type == self.object_type and c.object_id in items]
        services.delete_items(actor, [items[c.object_id] for c in mine if c.action == "created"])
        bulk.every(services.WorkPlanItemBatch(actor), [(items[c.object_id], _restored(c.before)) for c in mine
                                                       if c.action != "created"])
        made = [c.object_id for c in changes if c.object_type == "workplan" and c.action == "created"]
        for plan in WorkPlan.objects.filter(pk__in=made, items__isnull=True):
            services.delete_plan(actor, plan)

    def undo(self, actor, change):
        self.undo_many(actor, [change])


def _restored(before: dict) -> dict:
    """The fields a row changed, as they were: deadline, owner, and the linked projects (named by code in the
    audit row, as the sheet names them)."""
    values = {}
    if "deadline" in before:
        values["deadline"] = WorkPlanItem._meta.get_field("deadline").to_python(before["deadline"])
    if "owner" in before:
        values["owner"] = before["owner"]
    if "projects" in before:
        values["projects"] = [code for code in (before["projects"] or "").split("、") if code]
    return values


WORK_PLAN_ITEMS = WorkPlanItemsKind(
    name="work_plan_items",
    label=gettext_lazy("Work plan items (一镇一方案、十个统筹)"),
    object_type="workplanitem",
    columns=[
        Column("org_unit", ITEM_HEADERS["org_unit"], ("org unit", "unit code", "乡镇代码", "县代码", "区划代码"),
               parse=n.parse_code, required=True,
               help=gettext_lazy("Division code: a town (9 digits) for 一镇一方案, a county (6 digits) for 十个统筹"),
               example="330109113"),
        Column("kind", ITEM_HEADERS["kind"], ("kind", "plan kind", "方案种类"), parse=parse_kind,
               choices=tuple(KIND_CHINESE.values()),
               help=gettext_lazy("一镇一方案 or 十个统筹; empty: by the level of the unit"), example="一镇一方案"),
        Column("title", ITEM_HEADERS["title"], ("plan", "plan title", "title", "方案"), parse=parse_words,
               required=True, example="瓜沥镇美丽城镇建设行动方案（2020—2022年）"),
        Column("heading", ITEM_HEADERS["heading"], ("heading", "category", "类别", "五美", "统筹"), parse=parse_words,
               required=True,
               help=gettext_lazy("A heading of the plan's programme: 五美 (环境美, 生活美, 产业美, 人文美, 治理美) or one "
                                 "of the ten 统筹"), example="环境美"),
        Column("goal", ITEM_HEADERS["goal"], ("goal", "目标任务", "工作目标"), parse=parse_words, required=True,
               example="建成区污水管网全覆盖"),
        Column("deadline", ITEM_HEADERS["deadline"], ("deadline", "due date", "完成期限", "时限"), parse=n.parse_date,
               example="2021-06-30"),
        Column("projects", ITEM_HEADERS["projects"], ("project codes", "projects", "项目编号", "关联项目"),
               parse=parse_codes, help=gettext_lazy("Codes of projects of the plan's area, separated by 、 , or ;"),
               example="HZ2020-0001、HZ2020-0002"),
        Column("owner", ITEM_HEADERS["owner"], ("owner", "responsible unit", "责任部门", "牵头单位"), parse=parse_words,
               example="镇城建办"),
    ],
)


# --- exports in the standard (what `townbrain export --kind work_plan_items` writes) ----------------------------

def export_queryset(actor):
    """The items `actor` may see, as `townbrain.exchange.exports.SOURCES` expects of a kind's base."""
    return WorkPlanItem.objects.restrict(actor, "view")


def export_rows(qs):
    """Rows in the order of WORK_PLAN_ITEMS.columns: the kind in Chinese, the heading by name, the projects' codes
    joined by 、 — a file that imports back unchanged."""
    for item in (qs.select_related("plan", "heading").prefetch_related("projects")
                 .order_by("plan__org_unit_id", "plan__kind", "plan__title", "heading__order", "heading_id", "pk")
                 .iterator(2000)):
        yield [item.plan.org_unit_id, KIND_CHINESE[item.plan.kind], item.plan.title, item.heading.name, item.goal,
               item.deadline, "、".join(sorted(p.code for p in item.projects.all())), item.owner]
