"""The one write path for projects and progress reports, with the lifecycle rules of DOMAIN §4."""

import itertools
from copy import copy
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from townbrain.core import audit, bulk, conflicts, periods
from townbrain.core.models import Level, OrgUnit
from townbrain.core.records import loaded_relations
from townbrain.core.scope import require
from townbrain.core.services import refuse_unknown
from townbrain.programmes.models import Category, Programme

from . import rollups
from .models import STARTED_STATUSES, Project
from .reporting import REPORT_FIELDS, ReportBatch, delete_report, report_progress  # noqa: F401 (the write path)

PROJECT_FIELDS = (
    "code", "name", "town", "programme", "category", "owner_unit", "total_investment", "annual_plan",
    "planned_start", "actual_start", "planned_completion", "actual_completion", "status", "latitude", "longitude",
)


def validate_project(project: Project, confirm_annual_over_total: bool = False) -> None:
    """Lifecycle rules; every message says which field and why."""
    errors: dict[str, str] = {}
    if project.town_id and project.town.level != Level.TOWN:
        errors["town"] = _("A project belongs to a town (9-digit code); %(code)s is a %(level)s.") % {
            "code": project.town_id, "level": project.town.get_level_display()}
    if project.category_id and project.category.programme_id != project.programme_id:
        errors["category"] = _("Category “%(category)s” does not belong to programme %(programme)s.") % {
            "category": project.category.name, "programme": project.programme.name}
    for name in ("total_investment", "annual_plan"):
        if getattr(project, name) is not None and getattr(project, name) < 0:
            errors[name] = _("Money cannot be negative.")
    if (not confirm_annual_over_total and project.annual_plan and project.total_investment is not None
            and project.annual_plan > project.total_investment):
        errors["annual_plan"] = _(
            "The annual plan (%(plan)s 万元) is above the total investment (%(total)s 万元); "
            "confirm it if that is right.") % {"plan": project.annual_plan, "total": project.total_investment}
    if project.status in STARTED_STATUSES and not project.actual_start:
        errors["actual_start"] = _("A started project needs its actual start date.")
    if project.planned_start and project.planned_completion and project.planned_completion < project.planned_start:
        errors["planned_completion"] = _("Planned completion cannot be before the planned start.")
    if project.actual_start and project.actual_completion and project.actual_completion < project.actual_start:
        errors["actual_completion"] = _("Completion cannot be before the start.")
    # 完工 without 实际完工日期 is not refused: no figure reads the date (completion counts come from the
    # status), and the data standard has the column as optional. It is a data-quality warning instead
    # (exchange/quality.py: completion_date_missing), kept until the date is filled in.
    if errors:
        raise ValidationError(errors)


def create_project(actor, *, confirm_annual_over_total: bool = False, **fields) -> Project:
    """A new project: the one-project case of ProjectBatch."""
    return bulk.one(ProjectBatch(actor, confirm_annual_over_total=confirm_annual_over_total), (None, fields))


def update_project(actor, project: Project, *, confirm_annual_over_total: bool = False, expected_version=None,
                   **fields) -> Project:
    """Change a project. `expected_version`: the version the editor read (a form's hidden field, the
    API's If-Match); conflicts.Conflict, nothing saved, if someone changed the project since."""
    return bulk.one(ProjectBatch(actor, confirm_annual_over_total=confirm_annual_over_total),
                    (project, fields, expected_version))


def _relate(projects) -> None:
    """Give many projects their town, programme and category (what validate_project reads), each
    read once and shared: 100,000 projects of 4,000 towns hold 4,000 towns, not 100,000 copies."""
    towns = {u.code: u for u in bulk.where_in(OrgUnit.objects.all(), "code", {p.town_id for p in projects})}
    programmes = {p.pk: p for p in Programme.objects.filter(pk__in={p.programme_id for p in projects})}
    categories = {c.pk: c for c in Category.objects.filter(pk__in={p.category_id for p in projects} - {None})}
    for name, related, attname in (("town", towns, "town_id"), ("programme", programmes, "programme_id"),
                                   ("category", categories, "category_id")):
        field = Project._meta.get_field(name)
        for p in projects:
            value = related.get(getattr(p, attname))
            if value is not None:
                field.set_cached_value(p, value)


class ProjectBatch:
    """Projects created and changed for one actor in one transaction — the batch shape every service
    shares (bulk.one() is the one-record case, an import's BatchKind the many): check(items) answers
    each (project or None for a new one, fields[, expected version]) in order — (project, snapshot
    before or None, "created" | "updated" | "unchanged") or the error that refuses it — as one
    create_project() / update_project() call after another would; write() writes the accepted ones
    together: new projects by COPY, changed ones in one UPDATE, an audit row each, one roll-up move.
    Nothing is written before write().

    Checking many rows costs no query per row: the changed projects are locked and read once, the
    codes new ones take are looked up once, related objects passed saved are not read again (the
    database's foreign keys still hold) and each field is checked once per distinct value; the
    permission is checked against the actor's area (read once, kept on the actor).

    A project may not take a code another project of the programme has in the database, even one
    this batch moves away from it: the rows are written in one statement, which would meet the old code."""

    def __init__(self, actor, *, confirm_annual_over_total: bool = False, taken: set | None = None):
        self.actor, self.confirm = actor, confirm_annual_over_total
        self.now: dict[int, Project] = {}  # as the batch holds them
        self.original: dict[int, Project] = {}  # as read
        self.new: list[Project] = []  # to create
        self.claimed: dict[tuple, object] = {}  # (programme, code) taken in this batch: by whom
        # (programme, code) of projects in the database, for the new ones: read by each check(), unless
        # the caller read them for every item it will check (an import, once for the whole file)
        self.taken: set[tuple] = taken or set()
        self.read_taken = taken is None
        self.memo: dict = {}

    def check(self, items) -> list:
        ids = sorted({item[0].pk for item in items if item[0] is not None} - self.now.keys())
        locked = Project.objects.select_for_update().order_by("pk")  # in key order, so two writers cannot deadlock
        projects = list(bulk.where_in(locked, "pk", ids)) if ids else []
        _relate(projects)
        for p in projects:
            self.now[p.pk] = self.original[p.pk] = p  # a change works on a copy: the row as read stays
        codes = {item[1].get("code") for item in items if item[0] is None}
        if codes and self.read_taken:
            self.taken |= set(bulk.where_in(Project.objects.values_list("programme_id", "code"), "code", codes))
        results = []
        for project, fields, *expected in items:
            try:
                results.append(self._create(fields) if project is None else self._change(project.pk, fields, *expected))
            except (ValidationError, PermissionDenied) as exc:
                results.append(exc)
        return results

    def _create(self, fields: dict) -> tuple:
        refuse_unknown(fields, PROJECT_FIELDS)
        project = bulk.instance(Project, fields)
        require(self.actor, "add", project.town_id or "")  # the actor's area is read once and kept on the actor
        bulk.clean_fields(project, exclude=loaded_relations(project), memo=self.memo)
        validate_project(project, self.confirm)
        key = (project.programme_id, project.code)
        if key in self.claimed:
            raise ValidationError({"code": _("Project code %(code)s appears twice.") % {"code": project.code}})
        if key in self.taken:
            raise ValidationError({"code": _("Project code %(code)s already exists in this programme.")
                                   % {"code": project.code}})
        self.claimed[key] = project
        self.new.append(project)
        return project, None, "created"

    def _change(self, pk, fields: dict, expected_version=None) -> tuple:
        refuse_unknown(fields, PROJECT_FIELDS)
        project = self.now.get(pk)
        if project is None:
            raise ValidationError(_("This project no longer exists."))
        require(self.actor, "change", project.town_id)  # where it is now, read under the lock
        conflicts.expect_version(self.original[pk], expected_version)  # the version as read under the lock
        before = audit.snapshot(project, PROJECT_FIELDS)
        candidate = copy(project)
        for name, value in fields.items():
            setattr(candidate, name, value)
        require(self.actor, "change", candidate.town_id)  # a project moved to another town: the right there too
        # Related objects read from the database or passed saved need no look-up (the foreign keys still hold).
        bulk.clean_fields(candidate, exclude=loaded_relations(candidate), memo=self.memo)
        validate_project(candidate, self.confirm)
        if audit.snapshot(candidate, PROJECT_FIELDS) == before:
            return project, before, "unchanged"
        key = (candidate.programme_id, candidate.code)
        if key != (project.programme_id, project.code):
            if self.claimed.get(key, pk) != pk or Project.objects.filter(
                    programme_id=key[0], code=key[1]).exclude(pk=pk).exists():
                raise ValidationError({"code": _("Project code %(code)s already exists in this programme.")
                                       % {"code": candidate.code}})
            self.claimed[key] = pk
        self.now[pk] = candidate
        return candidate, before, "updated"

    def write(self) -> None:
        """Write what the batch holds (once): new and changed projects, an audit row each, the roll-up cells."""
        changed = [p for pk, p in self.now.items()
                   if audit.snapshot(p, PROJECT_FIELDS) != audit.snapshot(self.original[p.pk], PROJECT_FIELDS)]
        new, self.new = self.new, []
        if not changed and not new:
            return
        for p in changed:
            p.version = self.original[p.pk].version + 1
        with transaction.atomic(savepoint=False):  # one unit with the caller's transaction, if any
            # The database adds up an import's roll-up cells (seconds) while the new rows and the audit
            # rows are built; they are written after.
            copied = bulk.copied(new)
            with bulk.meanwhile():
                if copied:
                    bulk.draw_keys(Project, new)  # the audit rows name them
                else:
                    bulk.insert(Project, new)
                if changed:
                    bulk.update(Project, changed, (*PROJECT_FIELDS, "version"))
                    rollups.changed([self.original[p.pk] for p in changed], changed)
                if new:
                    rollups.created(new)
                staged = bulk.stage(Project, new) if copied else None
                pieces = audit.ahead(self.actor, itertools.chain(
                    (("project.create", p, {}, audit.snapshot(p, PROJECT_FIELDS), p.town_id) for p in new),
                    (("project.update", p, audit.snapshot(self.original[p.pk], PROJECT_FIELDS),
                      audit.snapshot(p, PROJECT_FIELDS), p.town_id) for p in changed)))
            if copied:
                bulk.insert(Project, new, staged=staged)
            for piece in pieces:
                audit.write(piece)
        self.original.update((p.pk, p) for p in changed)
        self.now.update((p.pk, p) for p in new)
        self.original.update((p.pk, p) for p in new)


def delete_project(actor, project: Project) -> None:
    delete_projects(actor, [project])


def delete_projects(actor, projects: list[Project]) -> None:
    """Delete projects (with their reports and plan curves): one transaction, an audit row each,
    the roll-up cells moved once for all (undoing an import deletes thousands)."""
    if not projects:
        return
    with transaction.atomic():
        ids = [p.pk for p in projects]
        locked = list(bulk.where_in(Project.objects.select_for_update().order_by("pk"), "pk", ids))
        for town in sorted({p.town_id for p in locked}):  # where each project is now, read under the lock
            require(actor, "delete", town)
        rollups.removed(locked)
        audit.record_all(actor, (("project.delete", p, audit.snapshot(p, PROJECT_FIELDS), {}, p.town_id) for p in locked))
        for piece in bulk.pieces(ids, bulk.IN_CHUNK):
            Project.objects.filter(pk__in=piece).delete()


# --- the monthly plan curve -------------------------------------------------------------------

def set_monthly_plan(actor, project: Project, curve: dict) -> list:
    """Replace `project`'s plan curve with {period YYYYMM: planned progress % (or (progress, cumulative 万元))}.

    The curve must not fall from one month to the next and stays within 0–100 %. An empty
    dict removes the curve (the linear plan applies again).
    """
    from .models import MonthlyPlan

    require(actor, "change", project.town_id)
    rows, errors = [], {}
    for raw_period, value in sorted(curve.items(), key=lambda kv: str(kv[0])):
        try:
            period = periods.month_id(*periods.parse_month(raw_period))
        except periods.InvalidPeriod as exc:
            errors[str(raw_period)] = str(exc)
            continue
        progress, cumulative = value if isinstance(value, tuple | list) else (value, None)
        progress = Decimal(str(progress))
        if not (Decimal(0) <= progress <= Decimal(100)):
            errors[period] = _("Planned progress is a percentage between 0 and 100.")
        elif rows and progress < rows[-1].planned_progress:
            errors[period] = _("The plan cannot fall from %(before)s%% to %(now)s%%.") % {
                "before": rows[-1].planned_progress, "now": progress}
        rows.append(MonthlyPlan(project=project, period=period, planned_progress=progress,
                                planned_cumulative=None if cumulative is None else Decimal(str(cumulative))))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        cells = _rollups_now(project)  # laggard cells follow the curve

        def state(plans):
            return {p.period: [audit.snapshot_value(p.planned_progress), audit.snapshot_value(p.planned_cumulative)] for p in plans}

        old, new = state(project.monthly_plan.all()), state(rows)
        if old != new:
            project.monthly_plan.all().delete()
            MonthlyPlan.objects.bulk_create(rows)
            audit.record(actor, "project.plan", project, {"plan": old}, {"plan": new}, org_code=project.town_id)
            _rollups_after(cells, project)
    return rows


# --- live roll-ups: each change moves the project's cells in the same transaction (projects/rollups/)

def _rollups_now(project: Project) -> tuple:
    """(contribution, enrolment dims, reports) of a project locked and read in this transaction, before it changes."""
    dims, reports = rollups.inputs(project.town_id, project.programme_id, project.pk)
    return rollups.contribution(project, reports, dims), dims, reports


def _rollups_after(before: tuple, project: Project) -> None:
    """Apply the difference between `before` and the project now, its plan curve replaced (read again)."""
    cells, dims, reports = before
    rollups.apply(cells, rollups.contribution(project, reports, dims))
