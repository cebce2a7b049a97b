"""The one write path for work plans and their items.

Writes: `create_plan`, `update_plan`, `delete_plan`, `add_item`, `update_item`, `delete_item`, `link_projects`,
`unlink_projects`. Each takes the actor first, checks the right on the plan's org unit (`add` to create, `change`
to edit an item or its links, `delete` to remove), and writes the change and its audit row in one transaction;
a call that changes nothing writes nothing. Audit rows are filed under the plan's org unit.

An item's heading is a category of the plan's programme (headings.find reads codes, names and the words offices
use); its linked projects lie in the plan's subtree (the town, or the county's towns), named by the project or by
its code.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, bulk, codes
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import OrgUnit
from townbrain.core.records import RecordBatch, loaded_relations
from townbrain.core.scope import require
from townbrain.core.services import refuse_unknown
from townbrain.programmes.models import Programme
from townbrain.projects.models import Project

from . import headings
from .models import KIND_PROGRAMME, Kind, WorkPlan, WorkPlanItem

register_actions({
    "workplan.create": gettext_lazy("Created work plan"),
    "workplan.update": gettext_lazy("Edited work plan"),
    "workplan.delete": gettext_lazy("Deleted work plan"),
    "workplanitem.create": gettext_lazy("Added work plan item"),
    "workplanitem.update": gettext_lazy("Edited work plan item"),
    "workplanitem.delete": gettext_lazy("Deleted work plan item"),
    "workplanitem.link": gettext_lazy("Linked projects to work plan item"),
    "workplanitem.unlink": gettext_lazy("Unlinked projects from work plan item"),
})

PLAN_FIELDS = ("org_unit", "kind", "programme", "title", "start_year", "end_year", "approved_on", "status", "note")
CHANGEABLE_PLAN_FIELDS = ("programme", "title", "start_year", "end_year", "approved_on", "status", "note")
ITEM_FIELDS = ("plan", "heading", "goal", "deadline", "owner")
CHANGEABLE_ITEM_FIELDS = ("heading", "goal", "deadline", "owner", "projects")


# --- helpers ---------------------------------------------------------------------------------------

def _unit(value) -> OrgUnit:
    if isinstance(value, OrgUnit):
        return value
    try:
        code = codes.normalize(value)
    except codes.InvalidCode as exc:
        raise ValidationError({"org_unit": str(exc)}) from None
    unit = OrgUnit.objects.filter(code=code).first()
    if unit is None:
        raise ValidationError({"org_unit": _("No org unit has the code %(code)s.") % {"code": code}})
    return unit


def _programme(value, kind: str) -> Programme:
    if isinstance(value, Programme):
        return value
    code = value or KIND_PROGRAMME.get(kind)
    programme = Programme.objects.filter(code=code).first() if code else None
    if programme is None:
        raise ValidationError({"programme": _("Unknown programme “%(code)s”.") % {"code": code}})
    return programme


def _clean_plan(plan: WorkPlan) -> None:
    plan.title = " ".join((plan.title or "").split())
    if plan.kind not in Kind.values:
        raise ValidationError({"kind": _("Unknown kind of plan “%(value)s”.") % {"value": plan.kind}})
    plan.full_clean(validate_unique=False, validate_constraints=False)
    clash = WorkPlan.objects.filter(org_unit_id=plan.org_unit_id, kind=plan.kind, title=plan.title).exclude(pk=plan.pk)
    if clash.exists():
        raise ValidationError({"title": _("%(unit)s already has a plan titled “%(title)s”.") % {
            "unit": plan.org_unit.name, "title": plan.title}})


def _item_snapshot(item: WorkPlanItem, linked: dict) -> dict:
    """What an item's audit rows show: its fields and (`projects`) the codes of the projects it links
    (`linked`: {project id: code})."""
    return {**audit.snapshot(item, ITEM_FIELDS), "projects": _joined(linked.values())}


def _links_of(item_ids) -> dict[int, dict]:
    """{item id: {project id: code}}: the projects the items link, read once for all."""
    linked = {pk: {} for pk in item_ids}
    through = WorkPlanItem.projects.through.objects.values_list("workplanitem_id", "project_id", "project__code")
    for item_id, project_id, code in bulk.where_in(through, "workplanitem_id", linked):
        linked[item_id][project_id] = code
    return linked


def _codes(projects) -> str:
    return _joined(p.code for p in projects)


def _joined(codes) -> str:
    """Projects' codes as an audit row shows them: sorted, joined by 、."""
    return "、".join(sorted(codes))


def find_projects(plan: WorkPlan, values, by_code: dict | None = None) -> list[Project]:
    """The projects `values` name (projects, or codes), each checked to lie in the plan's subtree.

    A code names the project of the plan's subtree with that code: the one of the plan's programme when codes
    repeat across programmes, else the only one; an unknown or ambiguous code is refused, naming it. `by_code`
    ({code: [projects]}, read once by an import for all its rows) saves the query."""
    found, wanted, errors = [], [], []
    for value in values or ():
        if isinstance(value, Project):
            found.append(value)
        elif str(value).strip():
            wanted.append(str(value).strip())
    if wanted:
        if by_code is None:
            by_code = {}
            for p in Project.objects.filter(town__code__startswith=plan.org_unit_id, code__in=set(wanted)):
                by_code.setdefault(p.code, []).append(p)
        for code in dict.fromkeys(wanted):
            candidates = [p for p in by_code.get(code, []) if p.town_id.startswith(plan.org_unit_id)]
            if len(candidates) > 1:
                candidates = [p for p in candidates if p.programme_id == plan.programme_id] or candidates
            if not candidates:
                errors.append(_("%(unit)s has no project with code %(code)s.") % {
                    "unit": plan.org_unit.name, "code": code})
            elif len(candidates) > 1:
                errors.append(_("Code %(code)s names projects of several programmes in %(unit)s.") % {
                    "code": code, "unit": plan.org_unit.name})
            else:
                found.append(candidates[0])
    for p in found:
        if not p.town_id.startswith(plan.org_unit_id):
            errors.append(_("Project %(code)s lies in %(town)s, outside %(unit)s.") % {
                "code": p.code, "town": p.town_id, "unit": plan.org_unit.name})
    if errors:
        raise ValidationError({"projects": errors})
    return list({p.pk: p for p in found}.values())


# --- plans -----------------------------------------------------------------------------------------

def create_plan(actor, *, org_unit, kind: str, title: str, programme=None, **fields) -> WorkPlan:
    """A new plan of `org_unit` (a town for 一镇一方案, a county for 十个统筹). Needs "add" there."""
    refuse_unknown(fields, PLAN_FIELDS)
    unit = _unit(org_unit)
    require(actor, "add", unit.code)
    plan = WorkPlan(org_unit=unit, kind=kind, title=title, programme=_programme(programme, kind), **fields)
    _clean_plan(plan)
    with transaction.atomic():
        plan.save()
        audit.record(actor, "workplan.create", plan, {}, audit.snapshot(plan, PLAN_FIELDS), org_code=unit.code)
    return plan


def update_plan(actor, plan: WorkPlan, **fields) -> WorkPlan:
    """Change a plan's title, years, approval date, status, note — or its programme while it has no items
    (its items' headings are that programme's). Its org unit and kind stay."""
    refuse_unknown(fields, CHANGEABLE_PLAN_FIELDS)
    require(actor, "change", plan.org_unit_id)
    with transaction.atomic():
        plan = WorkPlan.objects.select_for_update().select_related("org_unit").get(pk=plan.pk)
        before = audit.snapshot(plan, PLAN_FIELDS)
        if "programme" in fields:
            fields["programme"] = _programme(fields["programme"], plan.kind)
            if fields["programme"].pk != plan.programme_id and plan.items.exists():
                raise ValidationError({"programme": _("The plan has items under its programme's headings; remove "
                                                      "them before changing the programme.")})
        for name, value in fields.items():
            setattr(plan, name, value)
        _clean_plan(plan)
        after = audit.snapshot(plan, PLAN_FIELDS)
        if after != before:
            plan.save()
            audit.record(actor, "workplan.update", plan, before, after, org_code=plan.org_unit_id)
    return plan


def delete_plan(actor, plan: WorkPlan) -> None:
    """Remove a plan and its items (the projects stay). Needs "delete" on the plan's org unit."""
    require(actor, "delete", plan.org_unit_id)
    with transaction.atomic():
        before = audit.snapshot(plan, PLAN_FIELDS)
        before["items"] = plan.items.count()
        audit.record(actor, "workplan.delete", plan, before, {}, org_code=plan.org_unit_id)
        plan.delete()


# --- items -----------------------------------------------------------------------------------------

def add_item(actor, plan: WorkPlan, *, heading, goal: str, deadline=None, owner: str = "", projects=()) -> WorkPlanItem:
    """A new item of `plan` under `heading` (a category of the plan's programme, or its code, name or words),
    with its goal, deadline, responsible unit and linked projects. Needs "add" on the plan's org unit.
    The one-item case of WorkPlanItemBatch."""
    return bulk.one(WorkPlanItemBatch(actor), (None, {"plan": plan, "heading": heading, "goal": goal,
                                                      "deadline": deadline, "owner": owner, "projects": projects}))


def update_item(actor, item: WorkPlanItem, **fields) -> WorkPlanItem:
    """Change an item's heading, goal, deadline, responsible unit, or (`projects`) the projects it links, which
    replace the linked ones. Needs "change" on the plan's org unit. The one-item case of WorkPlanItemBatch."""
    return bulk.one(WorkPlanItemBatch(actor), (item, fields))


class WorkPlanItemBatch(RecordBatch):
    """Work-plan items added and changed for one actor in one transaction: the batch shape of
    core/records.py (bulk.one() is the one-item case — add_item(), update_item() —, the work-plan items
    import the many). An item's linked projects are part of it (`linked`: {project id: code}, what its
    audit rows show as `projects`); write() writes new items in bulk, changed ones in one UPDATE, an audit
    row each, then the links of the new items and of those whose links changed.

    A new item may belong to a plan not made yet (an unsaved WorkPlan, the import's): the plan is checked
    as create_plan() checks it, and made with its first item (audited as made by that item's file row, so
    an import's undo removes it after its last item). The changed items are locked and read once with
    their plans and links; each programme's headings and the natural keys (plan, heading, goal) of the
    plans the items name are read once."""

    model = WorkPlanItem
    accepts = ("plan", "heading", "goal", "deadline", "owner", "projects")
    changeable = CHANGEABLE_ITEM_FIELDS
    fields = ITEM_FIELDS
    key_fields, key_group = ("plan_id", "heading_id", "goal"), "plan_id"

    def __init__(self, actor):
        super().__init__(actor)
        self.headings: dict[int, list] = {}  # programme id -> its headings
        self.checked_plans: set[int] = set()  # id() of the new plans create_plan()'s rules accepted
        self.made: list[tuple[WorkPlan, WorkPlanItem]] = []  # the plans write() made, with their first item

    def scope(self, item) -> str:
        return item.plan.org_unit_id

    def locked(self):
        # The plans (and their units and programmes) are read apart: a join would lock their rows too.
        return WorkPlanItem.objects.prefetch_related("plan__org_unit", "plan__programme")

    def read_changed(self, ids) -> None:
        linked = _links_of(ids)
        for pk, item in self.now.items():
            if pk in linked:
                item.linked = self.original[pk].linked = linked[pk]

    def prepare(self, items) -> None:
        plans = set()
        for item, fields, *_expected in items:
            held = self.now.get(item.pk) if item is not None else None
            plans.add(held.plan_id if held is not None else getattr(fields.get("plan"), "pk", None))
        self.hold_keys(plans)

    def _heading(self, plan: WorkPlan, value):
        programme = plan.programme
        if programme.pk not in self.headings:
            self.headings[programme.pk] = headings.headings_of(programme)
        return headings.find(programme, value, self.headings[programme.pk])

    def build(self, fields: dict) -> WorkPlanItem:
        plan = fields.get("plan")
        if plan is None:
            raise ValidationError({"plan": WorkPlanItem._meta.get_field("plan").error_messages["blank"]})
        item = WorkPlanItem(plan=plan, goal=fields.get("goal"), deadline=fields.get("deadline"),
                            owner=fields.get("owner") or "")
        self.require(item, "add")  # before the heading and projects are looked up
        if plan.pk is None and id(plan) not in self.checked_plans:
            _clean_plan(plan)
            self.checked_plans.add(id(plan))
        item.heading = self._heading(plan, fields.get("heading"))
        item.linked = {p.pk: p.code for p in find_projects(plan, fields.get("projects"))}
        return item

    def assign(self, item, fields: dict) -> None:
        fields = dict(fields)
        if "projects" in fields:
            item.linked = {p.pk: p.code for p in find_projects(item.plan, fields.pop("projects"))}
        if "heading" in fields:
            fields["heading"] = self._heading(item.plan, fields["heading"])
        for name, value in fields.items():
            setattr(item, name, value if value is not None or name == "deadline" else "")

    def clean(self, item, before) -> None:
        item.goal = " ".join((item.goal or "").split())
        item.owner = " ".join((item.owner or "").split())
        made_with_it = ["plan"] if item.plan.pk is None else []  # written first by write()
        bulk.clean_fields(item, exclude=[*loaded_relations(item), *made_with_it], memo=self.memo)

    def key(self, item) -> tuple:
        if item.plan_id is None:  # a plan made with its items: no stored item has its key
            return ("new plan", id(item.plan)), item.heading_id, item.goal
        return super().key(item)

    def clash(self, item) -> ValidationError:
        return ValidationError({"goal": _("The plan already has this goal under “%(heading)s”.") % {
            "heading": item.heading.name}})

    def snapshot(self, item, new: bool = False) -> dict:
        return _item_snapshot(item, item.linked)

    def write_first(self, new: list, changed: list) -> None:
        """The plans the new items need made (each with its first item)."""
        made = {}
        for item in new:
            if item.plan.pk is None:
                made.setdefault(id(item.plan), (item.plan, item))
        self.made = list(made.values())
        bulk.insert(WorkPlan, [plan for plan, _first in self.made])
        for item in new:
            item.plan = item.plan  # the plan's new id

    def audit_changes(self, new: list, changed: list) -> None:
        rows = []
        for plan, first in self.made:
            row = audit.entry(self.actor, "workplan.create", plan, {}, audit.snapshot(plan, PLAN_FIELDS),
                              org_code=plan.org_unit_id)
            row.import_row = audit.entry(self.actor, self.action("create"), first, None, None).import_row
            rows.append(row)
        audit.record_many(rows)
        super().audit_changes(new, changed)

    def write_related(self, new: list, changed: list) -> None:
        """The links of the new items, and of the changed ones whose links changed, replaced."""
        through = WorkPlanItem.projects.through
        relinked = [i for i in changed if i.linked.keys() != self.original[i.pk].linked.keys()]
        for piece in bulk.pieces([i.pk for i in relinked], bulk.IN_CHUNK):
            through.objects.filter(workplanitem_id__in=piece).delete()
        through.objects.bulk_create([through(workplanitem_id=i.pk, project_id=project) for i in (*new, *relinked)
                                     for project in i.linked], batch_size=bulk.BATCH)


def delete_item(actor, item: WorkPlanItem) -> None:
    delete_items(actor, [item])


def delete_items(actor, items) -> None:
    """Remove items (an import undone removes many at once): "delete" on each plan's org unit, an audit
    row each with the projects it linked (the projects themselves stay)."""
    for item in items:
        require(actor, "delete", item.plan.org_unit_id)
    linked = _links_of([item.pk for item in items])
    with transaction.atomic():
        audit.record_all(actor, (("workplanitem.delete", item, _item_snapshot(item, linked[item.pk]), {},
                                  item.plan.org_unit_id) for item in items))
        for piece in bulk.pieces([item.pk for item in items], bulk.IN_CHUNK):
            WorkPlanItem.objects.filter(pk__in=piece).delete()


def link_projects(actor, item: WorkPlanItem, projects) -> WorkPlanItem:
    """Link more projects (projects or codes of the plan's subtree) to an item; those already linked stay."""
    return _relink(actor, item, projects, add=True)


def unlink_projects(actor, item: WorkPlanItem, projects) -> WorkPlanItem:
    """Unlink projects (projects or codes) from an item; the projects themselves stay."""
    return _relink(actor, item, projects, add=False)


def _relink(actor, item: WorkPlanItem, projects, add: bool) -> WorkPlanItem:
    with transaction.atomic():
        item = WorkPlanItem.objects.select_for_update().select_related("plan__org_unit").get(pk=item.pk)
        require(actor, "change", item.plan.org_unit_id)
        current = list(item.projects.all())
        if add:
            given = find_projects(item.plan, projects)
            changed = [p for p in given if p.pk not in {c.pk for c in current}]
        else:
            ids = {p.pk for p in projects or () if isinstance(p, Project)}
            named = {str(p).strip() for p in projects or () if not isinstance(p, Project)}
            changed = [p for p in current if p.pk in ids or p.code in named]
        if changed:
            (item.projects.add if add else item.projects.remove)(*changed)
            after = current + changed if add else [p for p in current if p not in changed]
            item.save(update_fields=["updated"])
            audit.record(actor, "workplanitem.link" if add else "workplanitem.unlink", item,
                         {"projects": _codes(current)}, {"projects": _codes(after)}, org_code=item.plan.org_unit_id)
    return item

