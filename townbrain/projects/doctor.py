"""The ledger's `townbrain doctor` checks (registered in ProjectsConfig.ready(), see core/doctor.py).

- `rollups`: the live roll-up cells answer what the plain GROUP BY over the ledger answers
  (`rollups.compute()` == `rollups.compute_from_ledger()`) for each programme × org unit with projects
  (province, city, county; each call covers the unit's children too, so the towns as well) × month with
  data; and within each unit the slices agree (all categories = the sum by category, by role, by batch, and
  by the detail where kept). On a big database a sample of the units × months (`--sample N`, `--full`).
- `project_figures`: each project's cached figures (status, cumulative investment, progress, last period)
  are its latest monthly report's; a project without reports has none.
"""

import random
from collections import defaultdict
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery, Sum
from django.db.models.functions import Length
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from townbrain.core import codes
from townbrain.core.doctor import Check, Options, Outcome, register, sample_size, sampled_note
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme

from . import rollups
from .models import ProgressReport, Project, RollupCell, Status

ROLLUP_SAMPLE = 400  # (programme, unit, month) comparisons by default; a small database has fewer
UPPER = tuple(codes.LEVEL_LENGTHS[level] for level in ("province", "city", "county"))


def _combos() -> list[tuple[int, str, str]]:
    """Every (programme id, unit code, month) the cells or the ledger speak of, units above towns."""
    orgs: dict[int, set[str]] = defaultdict(set)
    months: dict[int, set[str]] = defaultdict(set)
    for programme_id, org in RollupCell.objects.exclude(month="").values_list("programme_id", "org").distinct():
        orgs[programme_id].update(org[:n] for n in UPPER if len(org) >= n)
    for programme_id, month in RollupCell.objects.exclude(month="").values_list("programme_id", "month").distinct():
        months[programme_id].add(month)
    ledger = Project.objects.exclude(status=Status.CANCELLED).order_by()
    for programme_id, town in ledger.values_list("programme_id", "town_id").distinct():
        orgs[programme_id].update(town[:n] for n in UPPER)
    for programme_id, month in (ProgressReport.objects.filter(project__in=ledger).order_by()
                                .values_list("project__programme_id", "period").distinct()):
        months[programme_id].add(month)
    for programme_id, day in ledger.filter(planned_start__isnull=False).values_list(
            "programme_id", "planned_start").distinct():
        months[programme_id].add(f"{day.year:04d}{day.month:02d}")
    return sorted((p, org, month) for p in orgs for org in orgs[p] for month in months.get(p, ()))


def _same(a: dict, b: dict, path="") -> list[str]:
    """The figures that differ between compute() and compute_from_ledger() (children by code)."""
    keys = ("planned_to_start", "started", "investment_plan", "investment_done", "laggards")
    diffs = [f"{path}{k}: {a.get(k)} ≠ {b.get(k)}" for k in keys
             if _value(a.get(k)) != _value(b.get(k))]
    kids_a = {c["code"]: c for c in a.get("children", [])}
    kids_b = {c["code"]: c for c in b.get("children", [])}
    for code in sorted(set(kids_a) | set(kids_b)):
        diffs += _same(kids_a.get(code, {}), kids_b.get(code, {}), f"{code} ")
    return diffs


def _value(v):
    return Decimal(v) if isinstance(v, (int, Decimal)) else v or 0


def check_rollups(options: Options) -> Outcome:
    out = Outcome()
    combos = _combos()
    size = sample_size(options, len(combos), ROLLUP_SAMPLE)
    chosen = combos if size >= len(combos) else sorted(random.Random(len(combos)).sample(combos, size))  # noqa: S311
    out.note = sampled_note(size, len(combos))
    programmes = Programme.objects.in_bulk({p for p, _o, _m in chosen})
    units = OrgUnit.objects.in_bulk({o for _p, o, _m in chosen})
    for programme_id, org, month in chosen:
        unit = units.get(org)
        if unit is None:
            out.problem(_("roll-up cells for %(org)s, which is no org unit") % {"org": org})
            continue
        programme = programmes.get(programme_id)
        if programme is None:  # the cells keep no foreign key (they are derived): a deleted programme's may linger
            out.problem(_("roll-up cells for programme #%(id)s, which no longer exists") % {"id": programme_id})
            continue
        cells = rollups.compute(SYSTEM, unit, month, programme)
        ledger = rollups.compute_from_ledger(SYSTEM, unit, month, programme)
        out.checked += 1
        for diff in _same(cells, ledger):
            out.problem(_("%(programme)s %(org)s %(month)s: cells %(diff)s (ledger)") % {
                "programme": programme.code, "org": org, "month": month, "diff": diff})
    _check_slices(out, {(p, o) for p, o, _m in chosen} if size < len(combos) else None)
    return out


def _check_slices(out: Outcome, pairs) -> None:
    """Within one unit, kind and month: the all-slice equals the sum of each other slice the level keeps."""
    cells = RollupCell.objects.order_by()
    if pairs is not None:
        either = Q(pk__in=[])
        for programme_id, org in pairs:
            either |= Q(programme_id=programme_id, org=org)
        cells = cells.filter(either)
    cells = cells.annotate(length=Length("org")).filter(length__lt=codes.LEVEL_LENGTHS["town"])  # towns: detail only
    every = -1
    slices = {
        "all": Q(category=every, role=every, batch=every),
        "category": Q(category__gte=0, role=every, batch=every),
        "role": Q(category=every, role__gte=0, batch=every),
        "batch": Q(category=every, role=every, batch__gte=0),
        "detail": Q(category__gte=0, role__gte=0, batch__gte=0),
    }
    sums = {f"{name}_{col}": Sum(col, filter=q) for name, q in slices.items() for col in ("n", "cents")}
    rows = cells.values("programme_id", "org", "kind", "month").annotate(**sums)
    for row in rows:
        kept = rollups.LEVEL_SLICES.get(len(row["org"]), ())
        names = ["category", "role", "batch"] + (["detail"] if rollups.DETAIL_S in kept else [])
        whole = (row["all_n"] or 0, row["all_cents"] or 0)
        for name in names:
            part = (row[f"{name}_n"] or 0, row[f"{name}_cents"] or 0)
            if part != whole:
                out.problem(_("%(org)s %(kind)s %(month)s: the cells by %(slice)s add up to %(part)s, "
                              "the whole to %(whole)s") % {"org": row["org"], "kind": row["kind"],
                                                          "month": row["month"] or "-", "slice": name,
                                                          "part": part, "whole": whole})
        out.checked += 1


def check_project_figures(options: Options) -> Outcome:
    out = Outcome()
    latest = ProgressReport.objects.filter(project=OuterRef("pk")).order_by("-period")
    rows = (Project.objects.order_by("pk")
            .annotate(r_period=Subquery(latest.values("period")[:1]),
                      r_status=Subquery(latest.values("status")[:1]),
                      r_cumulative=Subquery(latest.values("cumulative_investment")[:1]),
                      r_progress=Subquery(latest.values("progress_percent")[:1]))
            .values_list("pk", "code", "status", "cumulative_investment", "progress_percent", "last_period",
                         "r_period", "r_status", "r_cumulative", "r_progress"))
    for pk, code, status, cumulative, progress, last, r_period, r_status, r_cumulative, r_progress in \
            rows.iterator(chunk_size=5000):
        out.checked += 1
        if r_period is None:
            want = (status, Decimal(0), Decimal(0), "")
        else:
            want = (r_status, Decimal(r_cumulative), Decimal(r_progress), r_period)
        have = (status, Decimal(cumulative), Decimal(progress), last)
        if have != want:
            fields = ("status", "cumulative_investment", "progress_percent", "last_period")
            diff = ", ".join(f"{f} {h} ≠ {w}" for f, h, w in zip(fields, have, want, strict=True) if h != w)
            out.problem(_("project %(code)s (#%(id)s): %(diff)s (latest report)") % {
                "code": code, "id": pk, "diff": diff})
    return out


def register_checks() -> None:
    register(Check("rollups", gettext_lazy("Roll-up cells = the ledger's GROUP BY"), check_rollups, order=10))
    register(Check("project_figures", gettext_lazy("Projects' figures = their latest report"),
                   check_project_figures, order=20))

