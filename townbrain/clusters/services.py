"""The one write path for clusters (集群), and the figures of a cluster's member towns.

Writes: `create_cluster`, `update_cluster`, `delete_cluster`, `set_indicator`. Each takes the actor
first, checks the right on EVERY member town (before and after the change: a county office cannot
change a cluster that reaches into another county, a city office over both can), and writes the
change and its audit row in one transaction. An audit row is filed under the members' common
ancestor (the county of a county's cluster, the city of a cross-county one).

Reads (`members_for`, `rollup`, `projects`, `expert_summary`, `latest_results`) count only the member
towns the user may see.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import audit, codes, periods
from townbrain.core.audit_labels import register_actions
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import allows, require
from townbrain.core.services import refuse_unknown

from .models import Assessment, Cluster, ClusterMember, Indicator, JointIndicator, MemberRole

register_actions({
    "cluster.create": gettext_lazy("Created cluster"),
    "cluster.update": gettext_lazy("Edited cluster"),
    "cluster.delete": gettext_lazy("Deleted cluster"),
    "cluster.indicator": gettext_lazy("Assessed joint indicator"),
})

CLUSTER_FIELDS = ("name", "theme", "programme", "lead", "wings", "note")
SNAPSHOT_FIELDS = ("name", "theme", "programme", "lead", "note")
INDICATOR_FIELDS = ("cluster", "indicator", "year", "status", "text")


# --- helpers ---------------------------------------------------------------------------------------

def common_ancestor(town_codes) -> str:
    """The deepest unit (province, city, county or the town itself) holding every code: where the cluster
    is filed in the audit log."""
    town_codes = sorted(set(town_codes))
    if not town_codes:
        return ""
    candidates = [*codes.ancestors_of(town_codes[0]), town_codes[0]]
    for candidate in reversed(candidates):
        if all(c.startswith(candidate) for c in town_codes):
            return candidate
    return ""


def _require_all(actor, action: str, town_codes) -> None:
    for code in sorted(set(town_codes)):
        require(actor, action, code)


def _town(value) -> OrgUnit:
    if isinstance(value, OrgUnit):
        return value
    try:
        code = codes.normalize(value)
    except codes.InvalidCode as exc:
        raise ValidationError(str(exc)) from None
    town = OrgUnit.objects.filter(code=code).first()
    if town is None:
        raise ValidationError(_("No org unit has the code %(code)s.") % {"code": code})
    return town


def _towns(lead, wings, field="wings") -> tuple[OrgUnit, list[OrgUnit]]:
    errors = {}
    try:
        lead = _town(lead)
    except ValidationError as exc:
        errors["lead"] = exc.messages
    found = []
    for value in wings or ():
        try:
            found.append(_town(value))
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    for unit in [lead, *found]:
        if unit.level != Level.TOWN:
            errors.setdefault("lead" if unit is lead else field, []).append(
                _("A cluster is made of towns (9-digit codes); %(code)s is a %(level)s.") % {
                    "code": unit.code, "level": unit.get_level_display()})
    wings_out, seen = [], {lead.code}
    for unit in found:
        if unit.code not in seen:
            seen.add(unit.code)
            wings_out.append(unit)
    if not wings_out:
        errors.setdefault(field, []).append(_("A cluster needs at least one wing town besides the lead town."))
    if errors:
        raise ValidationError(errors)
    return lead, wings_out


def _clean(cluster: Cluster) -> None:
    cluster.name = " ".join((cluster.name or "").split())
    cluster.theme = " ".join((cluster.theme or "").split())
    if not cluster.name:
        raise ValidationError({"name": _("A cluster needs a name.")})
    clash = Cluster.objects.filter(name=cluster.name).exclude(pk=cluster.pk)
    if clash.exists():
        raise ValidationError({"name": _("A cluster named “%(name)s” already exists.") % {"name": cluster.name}})


def _snapshot(cluster: Cluster) -> dict:
    data = audit.snapshot(cluster, SNAPSHOT_FIELDS)
    data["wings"] = ", ".join(sorted(m.town_id for m in cluster.memberships.all() if m.role == MemberRole.WING))
    return data


def _set_members(cluster: Cluster, lead: OrgUnit, wings: list[OrgUnit]) -> None:
    wanted = {lead.code: MemberRole.LEAD, **{w.code: MemberRole.WING for w in wings}}
    current = {m.town_id: m for m in cluster.memberships.all()}
    for code, member in current.items():
        if code not in wanted:
            member.delete()
        elif member.role != wanted[code]:
            member.role = wanted[code]
            member.save(update_fields=["role"])
    for code, role in wanted.items():
        if code not in current:
            ClusterMember.objects.create(cluster=cluster, town_id=code, role=role)


def member_codes(cluster: Cluster) -> list[str]:
    return [m.town_id for m in cluster.memberships.all()]


# --- writes ----------------------------------------------------------------------------------------

def create_cluster(actor, *, name: str, lead, wings, theme: str = "", programme=None, note: str = "") -> Cluster:
    """A new cluster of `lead` (town or code) and `wings` (towns or codes). Needs "add" on every member."""
    lead, wings = _towns(lead, wings)
    _require_all(actor, "add", [lead.code, *(w.code for w in wings)])
    cluster = Cluster(name=name, theme=theme, programme=programme, lead=lead, note=note or "")
    _clean(cluster)
    cluster.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        cluster.save()
        _set_members(cluster, lead, wings)
        where = common_ancestor(member_codes(cluster))
        audit.record(actor, "cluster.create", cluster, {}, _snapshot(cluster), org_code=where)
    return cluster


def update_cluster(actor, cluster: Cluster, **fields) -> Cluster:
    """Change a cluster: name, theme, programme, note, lead and wings (the wings given replace the old ones).
    Needs "change" on every member town, before and after."""
    refuse_unknown(fields, CLUSTER_FIELDS)
    with transaction.atomic():
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        old = member_codes(cluster)
        _require_all(actor, "change", old)
        before = _snapshot(cluster)
        lead = fields.pop("lead", cluster.lead)
        wings = fields.pop("wings", None)
        if wings is None:  # the wings stay; a new lead leaves them, the old lead becomes a wing
            lead_code = lead.code if isinstance(lead, OrgUnit) else str(lead)
            wings = [m.town_id for m in cluster.memberships.all() if m.role == MemberRole.WING and m.town_id != lead_code]
            if lead_code != cluster.lead_id:
                wings.append(cluster.lead_id)
        lead, wings = _towns(lead, wings)
        new = [lead.code, *(w.code for w in wings)]
        _require_all(actor, "change", new)
        for name, value in fields.items():
            setattr(cluster, name, value)
        cluster.lead = lead
        _clean(cluster)
        cluster.full_clean(validate_unique=False, validate_constraints=False)
        cluster.save()
        _set_members(cluster, lead, wings)
        after = _snapshot(cluster)
        if after != before:
            audit.record(actor, "cluster.update", cluster, before, after, org_code=common_ancestor([*old, *new]))
    return cluster


def delete_cluster(actor, cluster: Cluster) -> None:
    """Remove a cluster (its member list and joint indicators with it). Needs "delete" on every member."""
    members = member_codes(cluster)
    _require_all(actor, "delete", members)
    with transaction.atomic():
        audit.record(actor, "cluster.delete", cluster, _snapshot(cluster), {}, org_code=common_ancestor(members))
        cluster.delete()


def set_indicator(actor, cluster: Cluster, indicator: str, year: int, *, status: str = Assessment.NOT_STARTED,
                  text: str = "") -> JointIndicator:
    """Record the assessment of one joint indicator for `year` (replacing the year's earlier one)."""
    _require_all(actor, "change", member_codes(cluster))
    errors = {}
    if indicator not in Indicator.values:
        errors["indicator"] = _("Unknown joint indicator “%(value)s”.") % {"value": indicator}
    if status not in Assessment.values:
        errors["status"] = _("Unknown assessment “%(value)s”.") % {"value": status}
    try:
        year = int(year)
        if not 1900 <= year <= 2100:
            raise ValueError
    except (TypeError, ValueError):
        errors["year"] = _("Give a year between 1900 and 2100.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        row = (JointIndicator.objects.select_for_update().filter(cluster=cluster, indicator=indicator, year=year)
               .first())
        before = audit.snapshot(row, INDICATOR_FIELDS) if row else {}
        if row is None:
            row = JointIndicator(cluster=cluster, indicator=indicator, year=year)
        row.status, row.text = status, (text or "").strip()
        after = audit.snapshot(row, INDICATOR_FIELDS)
        if after != before:
            row.save()
            audit.record(actor, "cluster.indicator", row, before, after,
                         org_code=common_ancestor(member_codes(cluster)))
    return row


# --- reads -----------------------------------------------------------------------------------------

def members_for(user, cluster: Cluster) -> list[ClusterMember]:
    """The cluster's members the user may see (lead first), with their towns."""
    return [m for m in cluster.memberships.select_related("town").order_by("role", "town_id")
            if allows(user, "view", m.town_id)]


def rollup(user, cluster: Cluster, period: str, programme, category=None, role=None, batch=None) -> dict:
    """The combined live roll-up of the member towns the user may see, with each town's own figures
    (the shape of `projects.rollups.compute`, with `cluster` in place of `org`)."""
    from townbrain.projects import rollups

    year, month = periods.parse_month(period)
    period = periods.month_id(year, month)
    members = members_for(user, cluster)
    sums = rollups.read_sums(programme, {m.town_id for m in members}, period, category, role, batch)
    empty = (0, 0, 0, 0, 0)

    def figures(rows) -> dict:
        planned, started, plan, done, lag = (sum(col) for col in zip(empty, *rows, strict=True))
        return rollups._figures(planned, started, rollups._money(plan), rollups._money(done), lag)

    return {"cluster": cluster.pk, "name": cluster.name, "period": period, "programme": programme.code,
            **figures([sums[m.town_id] for m in members if m.town_id in sums]),
            "children": [{"code": m.town_id, "name": m.town.name, "role": m.role,
                          **figures([sums[m.town_id]] if m.town_id in sums else [])} for m in members]}


def projects(user, cluster: Cluster, programme=None):
    """The ledger projects of the member towns the user may see."""
    from townbrain.projects.models import Project

    qs = Project.objects.restrict(user, "view").filter(town_id__in=[m.town_id for m in members_for(user, cluster)])
    if programme is not None:
        qs = qs.filter(programme=programme)
    return qs


def expert_summary(user, cluster: Cluster, year: int | None = None) -> dict:
    """一库三师 activity in the member towns the user may see (the figures of /api/expert-activities/summary/)."""
    from townbrain.experts.models import ExpertActivity
    from townbrain.experts.services import summarise

    qs = ExpertActivity.objects.restrict(user, "view").filter(town_id__in=[m.town_id for m in members_for(user, cluster)])
    if year:
        qs = qs.filter(date__year=year)
    return summarise(qs)


def latest_results(user, cluster: Cluster) -> list:
    """Each visible member town's latest official assessment result per scheme (newest year first)."""
    from townbrain.assessments.models import Result, Run

    members = members_for(user, cluster)
    rows = (Result.objects.restrict(user, "view").filter(town_id__in=[m.town_id for m in members],
                                                          run__kind=Run.Kind.OFFICIAL)
            .select_related("run", "run__scheme", "town").order_by("town_id", "run__scheme_id", "-run__year",
                                                                   "-run__frozen", "-run_id"))
    latest, seen = [], set()
    for result in rows:
        key = (result.town_id, result.run.scheme_id)
        if key not in seen:
            seen.add(key)
            latest.append(result)
    order = {m.town_id: i for i, m in enumerate(members)}
    latest.sort(key=lambda r: (order[r.town_id], -r.run.year, r.run.scheme.name))
    return latest


def indicator_table(cluster: Cluster) -> list[dict]:
    """The joint indicators by year, newest first: [{year, cells: [(indicator, label, JointIndicator|None)]}]."""
    rows = {}
    for row in cluster.indicators.all():
        rows.setdefault(row.year, {})[row.indicator] = row
    return [{"year": year, "cells": [(value, label, rows[year].get(value)) for value, label in Indicator.choices]}
            for year in sorted(rows, reverse=True)]
