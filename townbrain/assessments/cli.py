"""`townbrain assess`: score a programme's towns for a year, print the grades (or JSON), optionally a what-if.

    townbrain assess --programme meili --year 2020 [--scheme FILE] [--what-if draft.yaml] [--json]

Without --scheme the programme's official scheme(s) for the year are used (loading the shipped
rulebooks first when the programme has none yet); a programme with a scheme per role (特色小镇:
创建 and 培育) is run with each and the results listed together. Nothing is saved: the run is
computed and printed (services.start_run keeps runs). --what-if takes a draft scheme (a whole
scheme) or just the changes, e.g.

    satisfaction: {weight: 2}
    sewage: {bands: [{min: 90, points: 6}, {min: 70, max: 90, points: 3}]}
    scheme: {grades: [{name: 样板, min: 85}, {name: 基本达标, min: 65}, {name: 不达标}]}

and adds the comparison: which towns change grade or rank.
"""

import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from townbrain.core.scope import SYSTEM, allows
from townbrain.programmes.models import Programme

from . import breakdown, engine, services
from . import spec as specs
from .services import compare_rows


class AssessError(Exception):
    pass


def _read_spec(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise AssessError(_("cannot read %(file)s: %(reason)s") % {"file": path, "reason": exc.strerror}) from None
    return specs.load(text)


def _validated(data: dict) -> dict:
    spec = specs.validate(data)
    services.check_references(spec, defined={e["code"] for e in spec["elements"]})
    return spec


def _base_specs(programme, year: int, scheme_file, actor) -> list[dict]:
    if scheme_file:
        spec = _validated(_read_spec(scheme_file))
        if spec["programme"] != programme.code:
            raise AssessError(_("%(file)s is a scheme for %(other)s, not %(programme)s.")
                              % {"file": scheme_file, "other": spec["programme"], "programme": programme.code})
        return [spec]
    schemes = services.official_schemes(programme, year)
    if not schemes and not programme.schemes.exists():
        services.load_fixture_schemes(SYSTEM)
        schemes = services.official_schemes(programme, year)
    if not schemes:
        raise AssessError(_("%(programme)s has no official assessment scheme for %(year)s.")
                          % {"programme": programme.code, "year": year})
    return [specs.from_scheme(s, with_elements=False) for s in schemes]


def _draft(base: dict, data: dict) -> dict:
    if "groups" in data or "criteria" in data:
        return _validated(data)
    return services.apply_changes(base, data)


def _scope(outcome, actor) -> None:
    outcome.results = [r for r in outcome.results if allows(actor, "view", r.town)]
    counts = {name: 0 for name in outcome.grades}
    for r in outcome.results:
        counts[r.grade] += 1
    outcome.grades = counts


def _rows(outcome) -> dict:
    return {r.town: (r.name, r.score, r.grade, r.rank) for r in outcome.results}


def _json_results(outcome) -> list[dict]:
    return [{"town": r.town, "score": r.score, "grade": r.grade, "rank": r.rank,
             "breakdown": breakdown.expand(outcome.spec, r.breakdown)} for r in outcome.results]


def _merge_grades(outcomes) -> dict:
    grades: dict[str, int] = {}
    for o in outcomes:
        for name, n in o.grades.items():
            grades[name] = grades.get(name, 0) + n
    return grades


def distribution(grades: dict) -> str:
    return " / ".join(f"{n} {name}" for name, n in grades.items())


def _table(outcomes) -> list[str]:
    lines = []
    for o in outcomes:
        lines.append(f"{o.spec['name']} (v{o.spec.get('version', 1)}) {o.year}: "
                     + _("%(n)s towns, full marks %(max)s") % {"n": len(o.results), "max": o.max_score})
        for r in o.results:
            veto = "  " + _("vetoed by %(codes)s") % {"codes": ", ".join(r.vetoes)} if r.vetoes else ""
            lines.append(f"{r.rank:>5}  {r.town}  {r.name:<12} {r.score:>7.2f}  {r.grade}{veto}")
    return lines


def assess_command(programme, year, scheme_file=None, what_if_file=None, as_json=False, actor=None):
    """(exit code, text to print). Exit 1 with the reason as text when something is wrong.

    `actor` (default: the system) limits the towns printed to those the actor may view.
    """
    actor = actor or SYSTEM
    try:
        year = int(year)
        prog = Programme.objects.filter(code=programme).first()
        if prog is None:
            raise AssessError(_("no programme with code %(code)s") % {"code": programme})
        bases = _base_specs(prog, year, scheme_file, actor)
        outcomes = [engine.run(spec, year) for spec in bases]
        if what_if_file:
            data = _read_spec(what_if_file)
            drafts = [_draft(base, data) for base in bases]
            trials = [engine.run(draft, year, towns=[engine.Town(r.town, r.name, r.batch, r.role) for r in o.results])
                      for draft, o in zip(drafts, outcomes, strict=True)]
    except (AssessError, ValidationError) as exc:
        return 1, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    if actor is not SYSTEM:  # a user sees the towns of their area (ranks stay those of the whole run)
        for o in [*outcomes, *(trials if what_if_file else [])]:
            _scope(o, actor)

    if not what_if_file:
        if as_json:
            payload = {"results": [row for o in outcomes for row in _json_results(o)], "grades": _merge_grades(outcomes)}
            return 0, json.dumps(payload, ensure_ascii=False)
        return 0, "\n".join([*_table(outcomes), _("Grades: %(grades)s") % {"grades": distribution(_merge_grades(outcomes))}])

    comparison = {"changes": [], "grade_changes": 0, "rank_changes": 0}
    for o, t in zip(outcomes, trials, strict=True):
        part = compare_rows(_rows(o), _rows(t))
        comparison["changes"] += part["changes"]
        comparison["grade_changes"] += part["grade_changes"]
        comparison["rank_changes"] += part["rank_changes"]
    if as_json:
        payload = {"results": [row for t in trials for row in _json_results(t)], "grades": _merge_grades(trials),
                   "baseline": {"grades": _merge_grades(outcomes)}, **comparison}
        return 0, json.dumps(payload, ensure_ascii=False)
    lines = [*_table(trials),
             _("Grades (what-if): %(grades)s") % {"grades": distribution(_merge_grades(trials))},
             _("Grades (official): %(grades)s") % {"grades": distribution(_merge_grades(outcomes))},
             _("%(grade)s towns change grade, %(rank)s change rank:")
             % {"grade": comparison["grade_changes"], "rank": comparison["rank_changes"]}]
    for c in comparison["changes"]:
        lines.append(f"  {c['town']}  {c['name']:<12} {c['score_a']} → {c['score_b']}  {c['grade_a']} → {c['grade_b']}"
                     f"  #{c['rank_a']} → #{c['rank_b']}")
    return 0, "\n".join(lines)
