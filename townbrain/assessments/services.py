"""The one write path for assessment schemes and runs.

Rights:
- schemes (import, edit a criterion or the grades, copy as a draft): system administrators
  (`manage` over the whole tree, `require(actor, "manage", "")`);
- runs (start, what-if, freeze, delete): `manage` at the run's area — a province office for
  its province's towns, a city or county office for theirs, system administrators anywhere;
- results are read through `Result.objects.restrict(user, "view")`: a town sees its own.
"""

import time
from decimal import Decimal
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from townbrain.core import audit, codes, conflicts
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import require
from townbrain.programmes.models import Enrolment, EnrolmentEvent, Programme

from . import engine
from . import spec as specs
from .models import Criterion, CriterionGroup, Method, Result, Run, Scheme
from .sources import SOURCES

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SCHEME_FIELDS = ("code", "name", "programme", "version", "year_from", "year_to", "status", "roles", "grades",
                 "rank_scopes", "rank_by", "bonus_cap", "description", "based_on", "consequences")
CRITERION_FIELDS = ("name", "description", "unit", "method", "params", "points", "weight", "binding", "veto",
                    "missing_as_zero", "formula", "system")
RUN_FIELDS = ("scheme", "scheme_version", "year", "area", "kind", "based_on", "note")
RESULT_BATCH = 2000


def _money(value):
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def require_scheme_admin(actor) -> None:
    try:
        require(actor, "manage", "")
    except PermissionDenied:
        raise PermissionDenied(_("Only system administrators may change assessment schemes.")) from None


# --- schemes -----------------------------------------------------------------------------------------

def _scheme_snapshot(scheme) -> dict:
    snap = audit.snapshot(scheme, SCHEME_FIELDS)
    snap["criteria"] = [c.code for c in scheme.criteria.all()] if scheme.pk else []
    return snap


def check_references(spec: dict, defined=()) -> None:
    """Every `#{code}` of the scheme names a data element (or one `defined` here) or a system source."""
    from townbrain.indicators.models import DataElement

    used = specs.element_codes(spec) - set(SOURCES) - set(defined)
    known = set(DataElement.objects.filter(code__in=used).values_list("code", flat=True))
    unknown = sorted(used - known)
    if unknown:
        raise specs.SchemeError(_("Unknown data element(s): %(codes)s — add them under “elements” or create them "
                                  "first.") % {"codes": ", ".join(unknown)})


def _programme(spec: dict) -> Programme:
    programme = Programme.objects.filter(code=spec["programme"]).first()
    if programme is None:
        raise specs.SchemeError(_("programme: there is no programme “%(code)s”.") % {"code": spec["programme"]})
    known = set(programme.roles.values_list("code", flat=True))
    strange = [r for r in spec["roles"] if r not in known]
    if strange:
        raise specs.SchemeError(_("roles: %(roles)s is not a role of %(programme)s (%(known)s).") % {
            "roles": ", ".join(strange), "programme": programme.name, "known": ", ".join(sorted(known))})
    return programme


def _criterion_params(c: dict) -> dict:
    return {k: c[k] for k in (*specs.PARAMS[c["method"]], "pass_points") if k in c}


def _write_rows(scheme: Scheme, spec: dict) -> None:
    scheme.criteria.all().delete()
    scheme.groups.all().delete()
    order = 0
    for gi, g in enumerate(spec["groups"]):
        group = CriterionGroup.objects.create(scheme=scheme, code=g["code"], name=g["name"], order=gi)
        rows = []
        for c in g["criteria"]:
            rows.append(Criterion(
                scheme=scheme, group=group, code=c["code"], name=c["name"], order=order,
                description=c.get("description", ""), formula=c.get("formula", ""), system=c.get("system", ""),
                unit=c.get("unit", ""), method=c["method"], params=_criterion_params(c), points=c["points"],
                weight=c["weight"], binding=c["binding"], veto=c.get("veto", ""),
                missing_as_zero=bool(c.get("missing_as_zero"))))
            order += 1
        Criterion.objects.bulk_create(rows)


def _same(spec_a: dict, spec_b: dict) -> bool:
    ignore = ("version", "elements")
    return {k: v for k, v in spec_a.items() if k not in ignore} == {k: v for k, v in spec_b.items() if k not in ignore}


def import_scheme(actor, data, *, status: str | None = None) -> Scheme:
    """Create or replace a scheme from its YAML/JSON form (text, bytes or a dict), with its data elements.

    Importing the same scheme again changes nothing; a changed scheme keeps its code and gets the
    next version (runs keep the version they ran with).
    """
    require_scheme_admin(actor)
    from townbrain.indicators.services import save_element

    if isinstance(data, str | bytes):
        data = specs.load(data)
    spec = specs.validate(data)
    if status:
        spec["status"] = status
    programme = _programme(spec)
    based_on = Scheme.objects.filter(code=spec.get("based_on")).first() if spec.get("based_on") else None
    with transaction.atomic():
        for e in spec["elements"]:
            fields = {k: v for k, v in e.items() if k != "code"}
            save_element(actor, e["code"], **fields)
        check_references(spec)
        scheme = Scheme.objects.select_for_update().filter(code=spec["code"]).first()
        if scheme is not None and _same(specs.from_scheme(scheme, with_elements=False), {**spec, "elements": []}):
            return scheme
        before = _scheme_snapshot(scheme) if scheme else {}
        version = spec["version"] if scheme is None else max(scheme.version + 1, spec["version"])
        scheme = scheme or Scheme(code=spec["code"])
        scheme.programme, scheme.name, scheme.version, scheme.status = programme, spec["name"], version, spec["status"]
        scheme.year_from, scheme.year_to = spec["years"]
        scheme.roles, scheme.grades, scheme.rank_scopes = spec["roles"], spec["grades"], spec["rank_scopes"]
        scheme.rank_by, scheme.bonus_cap = spec["rank_by"], _money(spec["bonus_cap"])
        scheme.description, scheme.based_on = spec.get("description", ""), based_on
        scheme.consequences = spec.get("consequences", [])
        scheme.full_clean(validate_unique=False, validate_constraints=False)
        scheme.save()
        _write_rows(scheme, spec)
        audit.record(actor, "scheme.import", scheme, before, _scheme_snapshot(scheme))
    return scheme


def export_scheme(scheme: Scheme, fmt: str = "yaml") -> str:
    return specs.dump(specs.from_scheme(scheme), fmt)


def load_fixture_schemes(actor) -> list[Scheme]:
    """Load (or bring up to date) the shipped rulebooks in fixtures/*.yaml, with their data elements."""
    return [import_scheme(actor, path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("*.yaml"))]


def expect_scheme_version(scheme: Scheme, expected) -> None:
    """conflicts.Conflict unless the (locked) scheme is still at version `expected` (None: no check):
    its own changes and its criteria's count, each having raised the version."""
    if conflicts.parse_version(expected) in (None, scheme.version):
        return
    criteria = list(Criterion.objects.filter(scheme=scheme).values_list("pk", flat=True))
    labels = {f.name: str(f.verbose_name) for f in Criterion._meta.concrete_fields}
    conflicts.expect_version(scheme, expected, conflicts.entries_of(scheme, ("criterion", criteria)),
                             labels={**labels, **{f.name: str(f.verbose_name) for f in Scheme._meta.concrete_fields}})


def _bump(scheme: Scheme) -> None:
    Scheme.objects.filter(pk=scheme.pk).update(version=scheme.version + 1, updated=timezone.now())
    scheme.version += 1


def update_criterion(actor, criterion: Criterion, *, expected_version=None, **fields) -> Criterion:
    """Change a criterion (name, points, weight, thresholds and bands, binding and veto …); the scheme's version goes up.

    Method parameters may be given by name (bands=…, zero_at=…, threshold=…, per=…) or as `params`.
    `expected_version`: the scheme's version the editor read; conflicts.Conflict if it moved since.
    """
    require_scheme_admin(actor)
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().get(pk=criterion.scheme_id)  # the scheme first, as update_scheme
        criterion = Criterion.objects.select_for_update(of=("self",)).select_related("scheme", "group").get(pk=criterion.pk)
        criterion.scheme = scheme
        expect_scheme_version(scheme, expected_version)
        current = specs.criterion_spec(criterion)
        params = fields.pop("params", None)
        if params is not None:
            for key in (*specs.ALL_PARAMS,):
                current.pop(key, None)
            current.update(params)
        if "method" in fields and fields["method"] != criterion.method and params is None:
            for key in specs.ALL_PARAMS:
                current.pop(key, None)
        unknown = set(fields) - set(CRITERION_FIELDS) - specs.ALL_PARAMS
        if unknown:
            raise ValidationError({k: _("Unknown field.") for k in sorted(unknown)})
        for key, value in fields.items():
            if key in ("veto", "formula", "system", "unit", "description"):
                value = value or ""
            if value in ("", None) and key in ("veto", "formula", "system"):
                current.pop(key, None)
            else:
                current[key] = value
        if fields.get("formula"):
            current.pop("system", None)
        if fields.get("system"):
            current.pop("formula", None)
        if fields.get("binding") is False:
            current.pop("veto", None)  # not binding any more: nothing to cap
        grade_names = {g["name"] for g in scheme.grades}
        try:
            c = specs._criterion(current, criterion.code, grade_names, specs.check_formula)
        except specs.SchemeError as exc:
            raise ValidationError(exc.messages) from None
        check_references({"groups": [{"criteria": [c]}]})
        before = audit.snapshot(criterion, CRITERION_FIELDS)
        criterion.name, criterion.description = c["name"], c.get("description", "")
        criterion.formula, criterion.system, criterion.unit = c.get("formula", ""), c.get("system", ""), c.get("unit", "")
        criterion.method, criterion.params = c["method"], _criterion_params(c)
        criterion.points = Decimal(str(c["points"])).quantize(Decimal("0.01"))
        criterion.weight = Decimal(str(c["weight"])).quantize(Decimal("0.001"))
        criterion.binding, criterion.veto = c["binding"], c.get("veto", "")
        criterion.missing_as_zero = bool(c.get("missing_as_zero"))
        after = audit.snapshot(criterion, CRITERION_FIELDS)
        if after != before:
            criterion.save()
            _bump(scheme)
            audit.record(actor, "criterion.update", criterion, before, after)
    return criterion


def update_scheme(actor, scheme: Scheme, *, expected_version=None, **fields) -> Scheme:
    """Change a scheme's own settings: name, status, years, grades, ranking scopes, bonus cap.

    `expected_version`: the scheme's version the editor read; conflicts.Conflict if it moved since."""
    require_scheme_admin(actor)
    allowed = {"name", "status", "year_from", "year_to", "grades", "rank_scopes", "rank_by", "bonus_cap", "description"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({k: _("Unknown field.") for k in sorted(unknown)})
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().get(pk=scheme.pk)
        expect_scheme_version(scheme, expected_version)
        before = _scheme_snapshot(scheme)
        current = specs.from_scheme(scheme, with_elements=False)
        for key, value in fields.items():
            if key in ("year_from", "year_to"):
                current["years"][0 if key == "year_from" else 1] = value
            else:
                current[key] = value
        try:
            spec = specs.validate(current)
        except specs.SchemeError as exc:
            raise ValidationError(exc.messages) from None
        scheme.name, scheme.status, (scheme.year_from, scheme.year_to) = spec["name"], spec["status"], spec["years"]
        scheme.grades, scheme.rank_scopes, scheme.rank_by = spec["grades"], spec["rank_scopes"], spec["rank_by"]
        scheme.bonus_cap, scheme.description = _money(spec["bonus_cap"]), spec.get("description", "")
        after = _scheme_snapshot(scheme)
        if after != before:
            scheme.version += 1
            scheme.save()
            audit.record(actor, "scheme.update", scheme, before, _scheme_snapshot(scheme))
    return scheme


def copy_scheme(actor, scheme: Scheme, code: str | None = None, name: str | None = None) -> Scheme:
    """A draft copy of `scheme` to edit for a what-if (the original stays as it is)."""
    require_scheme_admin(actor)
    spec = specs.from_scheme(scheme, with_elements=False)
    base = code or f"{scheme.code}-draft"
    code, n = base, 1
    while Scheme.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    spec.update(code=code, name=name or _("%(name)s (draft)") % {"name": scheme.name}, status="draft",
                based_on=scheme.code, version=1)
    return import_scheme(actor, spec)


def delete_scheme(actor, scheme: Scheme) -> None:
    require_scheme_admin(actor)
    if scheme.runs.exists():
        raise ValidationError(_("This scheme has runs; it cannot be deleted (make it a draft instead)."))
    with transaction.atomic():
        audit.record(actor, "scheme.delete", scheme, _scheme_snapshot(scheme), {})
        scheme.criteria.all().delete()
        scheme.groups.all().delete()
        scheme.delete()


# --- runs ----------------------------------------------------------------------------------------------

def run_area(spec: dict, year: int, area: str | None) -> tuple[str, str]:
    """(area code, area name) of a run: the given province, city or county, or the programme's one province."""
    if area:
        area = codes.normalize(area)
        unit = OrgUnit.objects.filter(code=area).first()
        if unit is None:
            raise ValidationError({"area": _("There is no org unit %(code)s.") % {"code": area}})
        if unit.level not in (Level.PROVINCE, Level.CITY, Level.COUNTY):
            raise ValidationError({"area": _("A run covers a province, a city or a county; %(name)s is a %(level)s.")
                                   % {"name": unit.name, "level": unit.get_level_display()}})
        return unit.code, unit.name
    from django.db.models.functions import Left

    programme = Programme.objects.get(code=spec["programme"])
    enrolled = engine.enrolled_queryset(programme, year, spec.get("roles") or ())
    provinces = set(enrolled.order_by().annotate(province=Left("town_id", 2)).values_list("province", flat=True)
                    .distinct()[:2])
    if len(provinces) == 1:
        unit = OrgUnit.objects.filter(code=next(iter(provinces))).first()
        if unit is not None:
            return unit.code, unit.name
    return "", _("All areas")


def _summary(outcome) -> dict:
    scores = [r.score for r in outcome.results]
    return {
        "towns": len(outcome.results),
        "grades": outcome.grades,
        "max_score": outcome.max_score,
        "mean": round(sum(scores) / len(scores), 2) if scores else None,
        "best": max(scores) if scores else None,
        "worst": min(scores) if scores else None,
        "vetoed": sum(1 for r in outcome.results if r.vetoes),
        "timings": {k: round(v, 3) for k, v in outcome.timings.items()},
    }


def _save_results(run: Run, outcome) -> None:
    """Write the results: COPY on PostgreSQL (40,000 rows of breakdowns in a second or two), bulk_create elsewhere."""
    from django.db import connection

    with engine._no_gc():
        if connection.vendor == "postgresql":
            _copy_results(connection, run, outcome.results)
            return
        rows = [Result(run=run, town_id=r.town, score=round(r.score, 2), grade=r.grade, grade_index=r.grade_index,
                       rank=r.rank, ranks=r.ranks, batch=r.batch, role=r.role, vetoes=r.vetoes,
                       breakdown=r.breakdown) for r in outcome.results]
        for start in range(0, len(rows), RESULT_BATCH):
            Result.objects.bulk_create(rows[start:start + RESULT_BATCH])


def _copy_results(connection, run: Run, results) -> None:
    import json

    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    columns = "run_id, town_id, score, grade, grade_index, rank, ranks, batch, role, vetoes, breakdown"
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {Result._meta.db_table} ({columns}) FROM STDIN") as copy:
            for r in results:
                copy.write_row((run.pk, r.town, f"{r.score:.2f}", r.grade, r.grade_index, r.rank, dumps(r.ranks),
                                r.batch, r.role, dumps(r.vetoes), dumps(r.breakdown)))


def start_run(actor, scheme: Scheme, year: int, area: str | None = None, *, kind: str = Run.Kind.OFFICIAL,
              spec: dict | None = None, based_on: Run | None = None, note: str = "", towns=None) -> Run:
    """Assess the enrolled towns of the scheme's programme (in `area`) for `year`, and keep the results."""
    year = int(year)
    if not 1990 <= year <= 2100:
        raise ValidationError({"year": _("A year between 1990 and 2100.")})
    scheme = Scheme.objects.select_related("programme").get(pk=scheme.pk)  # as it is now, not as the caller saw it
    spec = spec or specs.from_scheme(scheme, with_elements=False)
    if kind == Run.Kind.OFFICIAL and spec.get("status") != Scheme.Status.OFFICIAL:
        raise ValidationError(_("Only an official scheme makes an official run; try a what-if with a draft."))
    if kind == Run.Kind.OFFICIAL and not scheme.applies_to(year):
        raise ValidationError({"year": _("The scheme applies to %(first)s–%(last)s, not %(year)s.") % {
            "first": scheme.year_from or "…", "last": scheme.year_to or "…", "year": year}})
    code, name = run_area(spec, year, area)
    require(actor, "manage", code)
    started = time.perf_counter()
    outcome = engine.run(spec, year, towns=towns, area=code)
    with transaction.atomic():
        run = Run(scheme=scheme, programme=scheme.programme, scheme_version=spec.get("version", scheme.version),
                  snapshot=spec, year=year, area=code, area_name=name, kind=kind, based_on=based_on, note=note,
                  created_by=actor if getattr(actor, "pk", None) else None,
                  created_by_name=getattr(actor, "username", "") or "system", summary=_summary(outcome))
        run.full_clean(exclude=["snapshot", "summary"])
        run.save()
        _save_results(run, outcome)
        run.seconds = time.perf_counter() - started
        Run.objects.filter(pk=run.pk).update(seconds=run.seconds)
        after = audit.snapshot(run, RUN_FIELDS)
        after["grades"] = outcome.grades
        audit.record(actor, "run.create", run, {}, after, org_code=code)
    return run


def _refuse_frozen(run: Run) -> None:
    if Run.objects.filter(pk=run.pk, frozen=True).exists():
        raise PermissionDenied(_("This run is frozen: it can no longer be changed."))


def freeze_run(actor, run: Run) -> Run:
    """Freeze a run: from now on nothing changes it (scheme version and results stay as they are)."""
    require(actor, "manage", run.area)
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        _refuse_frozen(run)
        if run.kind != Run.Kind.OFFICIAL:
            raise ValidationError(_("Only an official run is frozen; a what-if stays a what-if."))
        run.frozen, run.frozen_at = True, timezone.now()
        run.frozen_by_name = getattr(actor, "username", "") or "system"
        run.save()
        audit.record(actor, "run.freeze", run, {"frozen": False}, {"frozen": True}, org_code=run.area)
    return run


def grade_distribution(grades: dict) -> str:
    """A run's grades the way bulletins print them: "39 优秀 / 10 警告 / 4 降格" (grades with no town left out)."""
    return " / ".join(f"{n} {name}" for name, n in grades.items() if n)


def _grade_years(programme, grade: str, towns, up_to: int) -> dict[str, list[int]]:
    """{town: [years]} in which frozen official runs of the programme gave the town `grade` (up to `up_to`)."""
    years: dict[str, set] = {}
    rows = (Result.objects.filter(run__programme=programme, run__frozen=True, run__kind=Run.Kind.OFFICIAL,
                                  run__year__lte=up_to, grade=grade, town_id__in=list(towns))
            .values_list("town_id", "run__year").distinct())
    for town, year in rows:
        years.setdefault(town, set()).add(year)
    return {town: sorted(ys) for town, ys in years.items()}


def apply_consequences(actor, run: Run) -> dict:
    """Apply what the grades of a frozen official run mean for the towns' enrolments.

    The rules are the scheme's `consequences` as the run snapshotted them (spec.py): a 特色小镇
    graded 降格 moves from the 创建 to the 培育 list next year, one graded 淘汰 leaves the programme
    after this year, a 小城市 graded 警告 in two years is flagged. Each change goes through
    programmes.services.record_event (audited, in the enrolment's history) and happens once:
    applying the same run again changes nothing. Returns {"role": n, "exit": n, "flag": n}.
    """
    from django.conf import settings
    from django.utils import translation

    require(actor, "manage", run.area)
    run = Run.objects.select_related("programme").get(pk=run.pk)
    if not run.frozen or run.kind != Run.Kind.OFFICIAL:
        raise ValidationError(_("A grade has consequences only once its official run is frozen; freeze the run first."))
    # The reasons are stored text that every office reads: in the site's language, whatever the
    # language of the request or command that applied them.
    with translation.override(settings.LANGUAGE_CODE):
        return _apply_consequences(actor, run)


def _apply_consequences(actor, run: Run) -> dict:
    from townbrain.programmes.services import record_event
    counts = {EnrolmentEvent.Kind.ROLE.value: 0, EnrolmentEvent.Kind.EXIT.value: 0, EnrolmentEvent.Kind.FLAG.value: 0}
    rules = run.snapshot.get("consequences") or []
    if not rules:
        return counts
    grades = dict(run.results.values_list("town_id", "grade"))
    enrolments = {e.town_id: e for e in Enrolment.objects.filter(programme=run.programme, town_id__in=list(grades))}
    roles = {r.code: r for r in run.programme.roles.all()}
    source = _("Assessment run #%(id)s: %(scheme)s %(year)s") % {
        "id": run.pk, "scheme": run.snapshot.get("name", ""), "year": run.year}
    with transaction.atomic():
        for rule in rules:
            grade = rule["grade"]
            towns = sorted(t for t, g in grades.items() if g == grade and t in enrolments)
            if not towns:
                continue
            action = rule["action"]
            if action == "change_role":
                role = roles.get(rule["role"])
                if role is None:
                    raise ValidationError(_("%(programme)s has no role “%(role)s” to move towns to.")
                                          % {"programme": run.programme.name, "role": rule["role"]})
                reason = _("Graded %(grade)s in %(year)s: on the %(role)s list from %(next)s") % {
                    "grade": grade, "year": run.year, "role": role.name, "next": run.year + 1}
                events = [(t, EnrolmentEvent.Kind.ROLE, run.year + 1, reason, role) for t in towns]
            elif action == "exit":
                reason = _("Graded %(grade)s in %(year)s: leaves the programme") % {"grade": grade, "year": run.year}
                events = [(t, EnrolmentEvent.Kind.EXIT, run.year + 1, reason, None) for t in towns]
            else:
                times = rule.get("times", 1)
                years = _grade_years(run.programme, grade, towns, run.year)
                events = [(t, EnrolmentEvent.Kind.FLAG, run.year,
                           _("Graded %(grade)s in %(times)s years (%(years)s)") % {
                               "grade": grade, "times": len(years[t]), "years": ", ".join(map(str, years[t]))},
                           None) for t in towns if len(years.get(t, ())) >= times]
            for town, kind, year, reason, role in events:
                if record_event(actor, enrolments[town], kind=kind, year=year, reason=reason, role=role,
                                source=source) is not None:
                    counts[kind.value] += 1
        if any(counts.values()):
            audit.record(actor, "run.consequences", run, {}, {"consequences": counts}, org_code=run.area)
    return counts


def delete_run(actor, run: Run) -> None:
    require(actor, "manage", run.area)
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        _refuse_frozen(run)
        audit.record(actor, "run.delete", run, audit.snapshot(run, RUN_FIELDS), {}, org_code=run.area)
        run.what_ifs.update(based_on=None)
        run.delete()


def apply_changes(spec: dict, changes: dict) -> dict:
    """A copy of `spec` with criterion edits {code: {weight, points, bands, threshold …}} and scheme edits.

    Scheme-level keys (grades, bonus_cap, rank_scopes, rank_by) may be given under "scheme".
    """
    import copy

    draft = copy.deepcopy(spec)
    changes = dict(changes or {})
    scheme_changes = changes.pop("scheme", {}) or {}
    for key, value in scheme_changes.items():
        if key not in ("grades", "bonus_cap", "rank_scopes", "rank_by", "name"):
            raise ValidationError({"scheme": _("%(key)s cannot be changed in a what-if.") % {"key": key}})
        draft[key] = value
    index = {c["code"]: c for _g, c in specs.criteria(draft)}
    for code, edits in changes.items():
        if code not in index:
            raise ValidationError(_("There is no criterion “%(code)s” in the scheme.") % {"code": code})
        if not isinstance(edits, dict):
            raise ValidationError(_("%(code)s: give the changes as a mapping, e.g. {weight: 2}.") % {"code": code})
        index[code].update(edits)
    draft["status"] = "draft"
    try:
        return specs.validate(draft)
    except specs.SchemeError as exc:
        raise ValidationError(exc.messages) from None


def what_if(actor, run: Run, *, scheme: Scheme | None = None, changes: dict | None = None,
            spec: dict | None = None, note: str = "") -> tuple[Run, dict]:
    """Re-run `run`'s towns and year with a draft (a draft scheme, edits of the run's scheme, or a spec).

    The official run is not touched. Returns the what-if run and the comparison with `run`.
    """
    require(actor, "manage", run.area)
    if scheme is not None:
        scheme = Scheme.objects.select_related("programme").get(pk=scheme.pk)
        draft = specs.from_scheme(scheme, with_elements=False)
        target = scheme
    elif spec is not None:
        try:
            draft = specs.validate(spec)
        except specs.SchemeError as exc:
            raise ValidationError(exc.messages) from None
        check_references(draft)
        target = run.scheme
    else:
        draft = apply_changes(run.snapshot, changes or {})
        check_references(draft)
        target = run.scheme
    if draft["programme"] != run.snapshot["programme"]:
        raise ValidationError(_("The draft is for another programme."))
    towns = list(run.results.order_by("town_id").values_list("town_id", "town__name", "batch", "role"))
    towns = [engine.Town(*t) for t in towns]
    trial = start_run(actor, target, run.year, run.area or None, kind=Run.Kind.WHAT_IF, spec=draft,
                      based_on=run, note=note, towns=towns)
    return trial, compare_runs(actor, run, trial)


# --- reading -------------------------------------------------------------------------------------------

def compare_rows(a: dict, b: dict) -> dict:
    """Compare two sets of {town: (name, score, grade, rank)}: towns whose grade, rank or score changed."""
    changes = []
    for town in sorted(set(a) | set(b)):
        ra, rb = a.get(town), b.get(town)
        if ra and rb and ra[1:] == rb[1:]:
            continue
        name = (ra or rb)[0]
        changes.append({
            "town": town, "name": name,
            "score_a": ra[1] if ra else None, "score_b": rb[1] if rb else None,
            "grade_a": ra[2] if ra else None, "grade_b": rb[2] if rb else None,
            "rank_a": ra[3] if ra else None, "rank_b": rb[3] if rb else None,
        })
    return {
        "changes": changes,
        "grade_changes": sum(1 for c in changes if c["grade_a"] != c["grade_b"]),
        "rank_changes": sum(1 for c in changes if c["rank_a"] != c["rank_b"]),
    }


def _rows_of(user, run: Run) -> dict:
    qs = Result.objects.restrict(user, "view").filter(run=run)
    return {t: (n, float(s), g, r) for t, n, s, g, r in qs.values_list("town_id", "town__name", "score", "grade", "rank")}


def compare_runs(user, run_a: Run, run_b: Run) -> dict:
    """Which towns (that `user` may see) change grade, rank or score from run A to run B."""
    out = compare_rows(_rows_of(user, run_a), _rows_of(user, run_b))
    for key, run in (("a", run_a), ("b", run_b)):
        out[key] = {"id": run.pk, "kind": run.kind, "scheme": run.snapshot.get("code"),
                    "version": run.scheme_version, "year": run.year, "grades": run.summary.get("grades", {})}
    return out


def previous_run(run: Run, visible=None) -> Run:
    """What a run is compared with by default: its official run, else the run before it (same scheme, year, area)."""
    visible = Run.objects.all() if visible is None else visible
    if run.based_on_id:
        based_on = visible.filter(pk=run.based_on_id).first()
        if based_on is not None:
            return based_on
    earlier = (visible.filter(scheme_id=run.scheme_id, year=run.year, area=run.area, kind=Run.Kind.OFFICIAL,
                              pk__lt=run.pk).order_by("-pk").first())
    return earlier or run


def official_schemes(programme: Programme, year: int) -> list[Scheme]:
    """The official schemes of a programme for a year (one per role set, e.g. 特色小镇 创建 and 培育)."""
    return [s for s in Scheme.objects.filter(programme=programme, status=Scheme.Status.OFFICIAL).order_by("code")
            if s.applies_to(year)]


def method_label(method: str) -> str:
    return str(Method(method).label)


# --- published results ---------------------------------------------------------------------------------
# When the province publishes its list (town, score, grade), an office records it next to the runs;
# the comparison says which towns the list and TownBrain's computed runs disagree on, and which of
# the town's criteria cost it points in the computed run (the published table has only totals).

PUBLISHED_HEADERS = {
    "town": ("乡镇代码", "乡镇（街道）代码", "代码", "town", "town_code", "code"),
    "name": ("乡镇", "乡镇名称", "乡镇（街道）", "乡镇街道", "名称", "name", "town_name"),
    "score": ("得分", "分数", "总分", "考核得分", "score"),
    "grade": ("等级", "考核等级", "考核结果", "结果", "grade"),
    "rank": ("名次", "排名", "rank"),
}


def _cell(value) -> str:
    import unicodedata

    return unicodedata.normalize("NFKC", "" if value is None else str(value)).strip()


def read_published(data: bytes, filename: str = "") -> list[dict]:
    """The rows of a published table (xlsx, xls, csv, json): [{town, name, score, grade, rank}]; a
    header row with a town code or name and a grade is looked for in the first rows."""
    from townbrain.exchange.readers import UnreadableFile, read_grid

    try:
        grid = read_grid(data, filename)
    except UnreadableFile as exc:
        raise ValidationError(str(exc)) from None
    lookup = {alias.lower(): key for key, aliases in PUBLISHED_HEADERS.items() for alias in aliases}
    header = None
    for index, row in enumerate(grid.rows[:20]):
        columns = {i: lookup[_cell(c).lower()] for i, c in enumerate(row) if _cell(c).lower() in lookup}
        if "grade" in columns.values() and ({"town", "name"} & set(columns.values())):
            header = index
            break
    if header is None:
        raise ValidationError(_("No header row with the town (乡镇代码 or 乡镇) and the grade (等级) was found."))
    rows = []
    for row in grid.rows[header + 1:]:
        item = {key: _cell(row[i]) if i < len(row) else "" for i, key in columns.items()}
        if any(item.values()):
            rows.append(item)
    return rows


def _decimal(text: str, what: str, line: int):
    if text in ("", "-", "—"):
        return None
    try:
        return Decimal(text.replace(",", ""))
    except ArithmeticError:
        raise ValidationError(_("Line %(line)s: %(what)s “%(value)s” is not a number.")
                              % {"line": line, "what": what, "value": text}) from None


def record_published(actor, programme: Programme, year: int, rows: list[dict], *, area: str = "",
                     title: str = "", published_on=None):
    """Record (or replace) the published list of `programme` for `year` in `area` from its rows
    ({town: code or name: name, score, grade, rank}). Every row is checked first — the town
    (by code, or by name among the programme's towns in the area), a grade one of the
    programme's official schemes knows — and nothing is saved while one is wrong. The same list
    again changes nothing. Returns the PublishedList."""
    from .models import PublishedList, PublishedResult

    year = int(year)
    area, area_name = run_area({"programme": programme.code, "roles": []}, year, area or None)
    require(actor, "manage", area)
    grades = {g["name"] for s in official_schemes(programme, year) for g in s.grades}
    enrolled = engine.enrolled_queryset(programme, year, (), area).values_list("town_id", "town__name")
    by_name: dict[str, list[str]] = {}
    for code, name in enrolled:
        by_name.setdefault(name, []).append(code)
    errors, lines, seen = [], [], set()
    for line, row in enumerate(rows, start=1):
        try:
            code = row.get("town") or ""
            if code:
                code = codes.normalize(code)
                if not OrgUnit.objects.filter(code=code, level=Level.TOWN).exists():
                    raise ValidationError(_("Line %(line)s: there is no town %(code)s.") % {"line": line, "code": code})
            else:
                found = by_name.get(row.get("name") or "", [])
                if len(found) != 1:
                    raise ValidationError(
                        (_("Line %(line)s: “%(name)s” names more than one town of the programme; give 乡镇代码.")
                         if found else _("Line %(line)s: “%(name)s” is not a town of the programme in %(area)s."))
                        % {"line": line, "name": row.get("name") or "", "area": area_name})
                code = found[0]
            if area and not code.startswith(area):
                raise ValidationError(_("Line %(line)s: %(code)s is outside %(area)s.")
                                      % {"line": line, "code": code, "area": area_name})
            if code in seen:
                raise ValidationError(_("Line %(line)s: %(code)s is listed twice.") % {"line": line, "code": code})
            grade = row.get("grade") or ""
            if grade not in grades:
                raise ValidationError(_("Line %(line)s: “%(grade)s” is not a grade of %(programme)s (%(grades)s).")
                                      % {"line": line, "grade": grade, "programme": programme.name,
                                         "grades": ", ".join(sorted(grades))})
            score = _decimal(row.get("score") or "", _("score"), line)
            rank = _decimal(row.get("rank") or "", _("rank"), line)
            seen.add(code)
            lines.append((code, score, grade, None if rank is None else int(rank)))
        except (ValidationError, codes.InvalidCode) as exc:
            errors.extend(exc.messages if isinstance(exc, ValidationError) else [f"{line}: {exc}"])
    if errors:
        raise ValidationError(errors)
    if not lines:
        raise ValidationError(_("The published list has no rows."))
    lines.sort()
    with transaction.atomic():
        published = PublishedList.objects.select_for_update().filter(programme=programme, year=year, area=area).first()
        before = {}
        if published is not None:
            old = sorted((r.town_id, r.score, r.grade, r.rank) for r in published.results.all())
            if old == lines and (published.title, published.published_on) == (title, published_on):
                return published
            before = {"title": published.title, "towns": len(old),
                      "grades": grade_distribution(_count(g for _t, _s, g, _r in old))}
            published.results.all().delete()
        else:
            published = PublishedList(programme=programme, year=year, area=area)
        published.area_name, published.title, published.published_on = area_name, title, published_on
        published.recorded_by_name = getattr(actor, "username", "") or "system"
        published.full_clean(validate_unique=False, validate_constraints=False)
        published.save()
        PublishedResult.objects.bulk_create([PublishedResult(published=published, town_id=t, score=s, grade=g, rank=r)
                                             for t, s, g, r in lines])
        after = {"title": title, "towns": len(lines), "grades": grade_distribution(_count(g for *_x, g, _r in lines))}
        audit.record(actor, "published.record", published, before, after, org_code=area)
    return published


def _count(grades) -> dict:
    counts: dict[str, int] = {}
    for g in grades:
        counts[g] = counts.get(g, 0) + 1
    return counts


def _ordered(counts: dict, order: list[str]) -> dict:
    """Grade counts in the schemes' order (best first), unknown grades after."""
    out = {g: counts[g] for g in order if counts.get(g)}
    out.update({g: n for g, n in counts.items() if g not in out and n})
    return out


def compare_published(user, published, *, run=None) -> dict:
    """The published list beside the computed results of the frozen official runs of the same
    programme, year and area (the latest per scheme), for the towns `user` may view.

    {"published": "39 优秀 / …", "computed": "…", "towns": n, "differences": [{town, name,
    published_score, published_grade, computed_score, computed_grade, score_gap, criteria: [{criterion,
    name, value, points, max, lost, failed}]}], "only_published": [codes], "only_computed": [codes]}
    A town differs when the grade differs or the scores differ by 0.01 or more; its criteria are
    those that cost it points in the computed run, the costliest first. With no list yet
    (`published` None), the computed side of `run`'s programme, year and area alone.
    """
    from . import breakdown
    from .models import PublishedResult

    where = published or run
    runs = {}
    for found in (Run.objects.filter(programme=where.programme, year=where.year, area=where.area,
                                     kind=Run.Kind.OFFICIAL, frozen=True).order_by("created", "id")):
        runs[found.scheme_id] = found  # the latest frozen run of each scheme
    computed = {}
    for run in runs.values():
        for r in Result.objects.restrict(user, "view").filter(run=run).select_related("town"):
            computed[r.town_id] = (r, run.snapshot)
    listed = {r.town_id: r for r in PublishedResult.objects.restrict(user, "view").filter(published=published)
              .select_related("town")} if published is not None else {}
    order = [g["name"] for run in runs.values() for g in run.snapshot.get("grades", [])]
    differences = []
    for code in sorted(listed.keys() & computed.keys()):
        p, (r, spec) = listed[code], computed[code]
        gap = None if p.score is None else round(float(r.score) - float(p.score), 2)
        if p.grade == r.grade and (gap is None or abs(gap) < 0.01):
            continue
        criteria = []
        for item in breakdown.expand(spec, r.breakdown):
            top, points = item.get("max"), item.get("points")
            if item.get("bonus") or top is None:
                continue
            lost = round(float(top) - float(points or 0), 2)
            if lost > 0 or item.get("failed"):
                criteria.append({k: item.get(k) for k in ("criterion", "name", "value", "points", "max", "failed")}
                                | {"lost": lost})
        criteria.sort(key=lambda c: (-c["lost"], c["criterion"]))
        differences.append({"town": code, "name": p.town.name, "published_score": None if p.score is None else float(p.score),
                            "published_grade": p.grade, "computed_score": float(r.score),
                            "computed_grade": r.grade, "score_gap": gap, "criteria": criteria})
    return {
        "published": grade_distribution(_ordered(_count(p.grade for p in listed.values()), order)),
        "computed": grade_distribution(_ordered(_count(r.grade for r, _s in computed.values()), order)),
        "towns": len(listed),
        "runs": sorted(run.pk for run in runs.values()),
        "differences": differences,
        "only_published": sorted(listed.keys() - computed.keys()),
        "only_computed": sorted(computed.keys() - listed.keys()),
    }
