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

from townbrain.core import audit, codes
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import OrgUnit
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


def _item_snapshot(item: WorkPlanItem) -> dict:
    data = audit.snapshot(item, ITEM_FIELDS)
    data["projects"] = _codes(item.projects.all()) if item.pk else ""
    return data


def _codes(projects) -> str:
    return "、".join(sorted(p.code for p in projects))


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
    with its goal, deadline, responsible unit and linked projects. Needs "add" on the plan's org unit."""
    require(actor, "add", plan.org_unit_id)
    item = WorkPlanItem(plan=plan, heading=headings.find(plan.programme, heading), goal=goal, deadline=deadline,
                        owner=owner or "")
    linked = find_projects(plan, projects)
    _clean_item(item)
    with transaction.atomic():
        item.save()
        item.projects.set(linked)
        audit.record(actor, "workplanitem.create", item, {}, _item_snapshot(item), org_code=plan.org_unit_id)
    return item


def _clean_item(item: WorkPlanItem) -> None:
    item.goal = " ".join((item.goal or "").split())
    item.owner = " ".join((item.owner or "").split())
    item.full_clean(validate_unique=False, validate_constraints=False)
    clash = WorkPlanItem.objects.filter(plan_id=item.plan_id, heading_id=item.heading_id, goal=item.goal)
    if clash.exclude(pk=item.pk).exists():
        raise ValidationError({"goal": _("The plan already has this goal under “%(heading)s”.") % {
            "heading": item.heading.name}})


def update_item(actor, item: WorkPlanItem, **fields) -> WorkPlanItem:
    """Change an item's heading, goal, deadline, responsible unit, or (`projects`) the projects it links, which
    replace the linked ones. Needs "change" on the plan's org unit."""
    refuse_unknown(fields, CHANGEABLE_ITEM_FIELDS)
    with transaction.atomic():
        item = WorkPlanItem.objects.select_for_update().select_related("plan__org_unit", "plan__programme").get(
            pk=item.pk)
        plan = item.plan
        require(actor, "change", plan.org_unit_id)
        before = _item_snapshot(item)
        linked = find_projects(plan, fields.pop("projects")) if "projects" in fields else None
        if "heading" in fields:
            fields["heading"] = headings.find(plan.programme, fields["heading"])
        for name, value in fields.items():
            setattr(item, name, value if value is not None or name == "deadline" else "")
        _clean_item(item)
        if linked is not None and {p.pk for p in linked} != {p.pk for p in item.projects.all()}:
            item.projects.set(linked)
        after = _item_snapshot(item)
        if after != before:
            item.save()
            audit.record(actor, "workplanitem.update", item, before, after, org_code=plan.org_unit_id)
    return item


def delete_item(actor, item: WorkPlanItem) -> None:
    require(actor, "delete", item.plan.org_unit_id)
    with transaction.atomic():
        audit.record(actor, "workplanitem.delete", item, _item_snapshot(item), {}, org_code=item.plan.org_unit_id)
        item.delete()


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

