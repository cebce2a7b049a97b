"""The assessment engine: a scheme (its normal form, see spec.py) × a year × towns → scores, grades, ranks.

Built for a whole country in one go. Values are read in bulk — one query per data element over
the year for every town at once (`data.element_values`), each system source once for all towns
(`sources.compute`) — never `value_of` per town and criterion. Each criterion is compiled once
into a scoring function; a criterion whose formula is a single `#{code}` reads the value
directly, any other formula goes through the formula engine (indicators/expressions) per town.

Scoring (points before weight; the weight multiplies points and full marks alike):
- bands      the best band the value falls in (min and max inclusive); in no band: 0
- linear     points × (value − zero_at) ÷ (full_at − zero_at), clamped to [0, points];
             zero_at > full_at means "lower is better"
- pass_fail  full points when `value op threshold` holds (no threshold: when the value is
             true / non-zero), else 0
- deduction  points − per × value, never below 0 (扣分制: deductions until nothing is left)
- bonus      min(points, per × value): added on top, outside the full marks; all bonus points
             together are capped by the scheme's bonus_cap
A missing value scores 0 (or counts as 0 with missing_as_zero). A binding criterion (一票否决)
fails when its value is missing or does not meet it — for pass/fail the test itself, otherwise
`pass_points` raw points (default: more than 0); a failure caps the grade at its `veto` grade
(default: the worst grade). Grade = the first band (best first) whose minimum the score reaches, capped.
Ranks: competition ranking ("1224") by score — same score, same rank — in each ranking scope.
"""

import gc
import operator
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from townbrain.programmes.models import Enrolment, Programme, roles_in_year

from . import data, sources
from .models import Method
from .spec import SINGLE_REF, criteria, max_score


@dataclass(slots=True)
class Town:
    code: str
    name: str = ""
    batch: str = ""
    role: str = ""


@dataclass(slots=True)
class TownResult:
    town: str
    name: str
    batch: str
    role: str
    score: float
    grade: str
    grade_index: int
    vetoes: list
    breakdown: dict  # {"values": [...], "points": [...]} in the scheme's criterion order; "errors": {code: message}
    rank: int = 0
    ranks: dict = field(default_factory=dict)


@dataclass
class Outcome:
    spec: dict
    year: int
    results: list
    grades: dict
    max_score: float
    seconds: float
    timings: dict


# --- compiling criteria -------------------------------------------------------------------------------

def compare(op, threshold):
    return {
        ">=": lambda v: v >= threshold, ">": lambda v: v > threshold, "<=": lambda v: v <= threshold,
        "<": lambda v: v < threshold, "==": lambda v: v == threshold, "!=": lambda v: v != threshold,
    }[op]


INF = float("inf")


def scorer(c: dict):
    """The raw points (before weight, to 2 decimals) of a value for criterion `c` (a function of a float)."""
    points, method = float(c["points"]), c["method"]
    if method == Method.BANDS:
        bands = sorted(((-INF if b["min"] is None else b["min"], INF if b["max"] is None else b["max"],
                         float(b["points"])) for b in c["bands"]), key=lambda b: -b[2])

        def score(v):
            for low, high, p in bands:
                if low <= v <= high:
                    return p
            return 0.0
        return score
    if method == Method.LINEAR:
        zero, full = float(c["zero_at"]), float(c["full_at"])
        span = full - zero

        def score(v):
            f = (v - zero) / span
            return points if f >= 1 else (0.0 if f <= 0 else round(points * f, 2))
        return score
    if method == Method.PASS_FAIL:
        if c.get("threshold") is None:
            return lambda v: points if v else 0.0
        t = float(c["threshold"])
        return {
            ">=": lambda v: points if v >= t else 0.0, ">": lambda v: points if v > t else 0.0,
            "<=": lambda v: points if v <= t else 0.0, "<": lambda v: points if v < t else 0.0,
            "==": lambda v: points if v == t else 0.0, "!=": lambda v: points if v != t else 0.0,
        }[c.get("op", ">=")]
    if method == Method.DEDUCTION:
        per = float(c["per"])

        def score(v):
            left = round(points - per * v, 2) if v > 0 else points
            return left if left > 0 else 0.0
        return score
    if method == Method.BONUS:
        per = float(c["per"])

        def score(v):
            p = round(per * v, 2) if v > 0 else 0.0
            return points if p > points else p
        return score
    raise ValueError(method)


class Compiled:
    """One criterion ready to score: where its value comes from and how it turns into points."""

    __slots__ = ("code", "spec", "ref", "expr", "refs", "missing", "score", "weight", "bonus", "binding",
                 "passes", "veto_index")

    def __init__(self, c: dict, grade_index: dict, worst: int):
        from townbrain.indicators.expressions import parse

        self.code, self.spec = c["code"], c
        formula = c.get("formula") or f"#{{{c['system']}}}"
        m = SINGLE_REF.match(formula)
        self.ref = m.group(1) if m else None
        self.expr = None if m else parse(formula)
        self.refs = (self.ref,) if m else tuple(sorted(self.expr.references()))
        self.missing = "zero" if c.get("missing_as_zero") else "null"
        self.score = scorer(c)
        self.weight = float(c.get("weight", 1))
        self.bonus = c["method"] == Method.BONUS
        self.binding = bool(c.get("binding"))
        self.passes = passes(c)
        self.veto_index = grade_index[c["veto"]] if c.get("veto") else worst


def passes(c: dict):
    """Whether a value meets a binding criterion: f(value, raw points) -> bool (value is not None).

    pass/fail: the test itself; with pass_points: at least that many raw points; else more than 0.
    """
    if c["method"] == Method.PASS_FAIL and c.get("pass_points") is None:
        if c.get("threshold") is None:
            return lambda v, raw: bool(v)
        test = compare(c.get("op", ">="), float(c["threshold"]))
        return lambda v, raw: test(v)
    if c.get("pass_points") is not None:
        needed = float(c["pass_points"])
        return lambda v, raw: raw >= needed
    return lambda v, raw: raw > 0


def veto_grade(spec: dict, c: dict) -> str:
    return c.get("veto") or spec["grades"][-1]["name"]


def _number(value):
    """A formula's result as a float (None for no value); ValueError for text."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | Decimal):
        return float(value)
    raise ValueError(_("the formula gives text (“%(value)s”), not a number") % {"value": value})


# --- towns --------------------------------------------------------------------------------------------

def enrolled_queryset(programme, year: int, roles=(), area: str = ""):
    qs = Enrolment.objects.filter(programme=programme, year_joined__lte=year).filter(
        Q(exit_year__isnull=True) | Q(exit_year__gte=year))
    if roles:
        qs = qs.filter(role__code__in=list(roles))
    if area:
        qs = qs.filter(town__code__startswith=area)
    return qs


def enrolled_towns(programme, year: int, roles=(), area: str = "") -> list[Town]:
    """The towns enrolled in `programme` in `year` (joined by then, not yet left), optionally by role and area.

    A town's role is the one it had in `year`: a 特色小镇 moved from the 创建 to the 培育 list in
    2021 is still assessed as 创建 when 2020 is run again (programmes.models.roles_in_year).
    """
    earlier = roles_in_year(programme, year)
    qs = enrolled_queryset(programme, year, () if earlier else roles, area)
    rows = qs.order_by("town_id").values_list("town_id", "town__name", "batch__code", "role__code")
    towns = []
    for code, name, batch, role in rows:
        role = earlier.get(code, role or "")
        if not roles or role in roles:
            towns.append(Town(code, name, batch or "", role))
    return towns


# --- the run --------------------------------------------------------------------------------------------

def run(spec: dict, year: int, towns=None, area: str = "", today=None) -> Outcome:
    """Score every town (default: the programme's enrolled towns in the area) with scheme `spec`."""
    with _no_gc():
        return _run(spec, year, towns, area, today)


def _run(spec, year, towns, area, today) -> Outcome:
    started = time.perf_counter()
    timings = {}
    programme = Programme.objects.get(code=spec["programme"])
    if towns is None:
        towns = enrolled_towns(programme, year, spec.get("roles") or (), area)
    towns = [t if isinstance(t, Town) else Town(t) for t in towns]
    codes = [t.code for t in towns]

    grades = spec["grades"]
    grade_index = {g["name"]: i for i, g in enumerate(grades)}
    worst = len(grades) - 1
    compiled = [Compiled(c, grade_index, worst) for _g, c in criteria(spec)]
    refs = sorted({r for c in compiled for r in c.refs})
    system_keys = [r for r in refs if r in sources.SOURCES]
    element_keys = [r for r in refs if r not in sources.SOURCES]
    timings["compile"] = time.perf_counter() - started

    t = time.perf_counter()
    values = data.element_values(element_keys, codes, str(year), area=area)
    timings["values"] = time.perf_counter() - t
    t = time.perf_counter()
    values.update(sources.compute(system_keys, programme, year, codes, today=today))
    timings["sources"] = time.perf_counter() - t

    t = time.perf_counter()
    results = score_towns(compiled, values, towns, grades, spec.get("bonus_cap"))
    timings["score"] = time.perf_counter() - t
    t = time.perf_counter()
    rank(results, spec.get("rank_scopes") or ["programme"], spec.get("rank_by", "score"))
    timings["rank"] = time.perf_counter() - t
    counts = Counter(r.grade for r in results)
    return Outcome(spec=spec, year=year, results=results,
                   grades={g["name"]: counts.get(g["name"], 0) for g in grades},
                   max_score=round(max_score(spec), 2), seconds=time.perf_counter() - started, timings=timings)


def score_towns(compiled: list[Compiled], values: dict, towns: list[Town], grades: list, bonus_cap) -> list:
    """Score, grade and breakdown of every town, criterion by criterion over all towns (column-wise:
    40,000 towns × 75 criteria is 75 passes of list comprehensions, not 3 million loop bodies)."""
    from townbrain.indicators.expressions import FormulaError, evaluate

    codes = [t.code for t in towns]
    n = len(codes)
    base, bonus = [0.0] * n, [0.0] * n
    cap_index = [0] * n
    vetoes: dict[int, list] = {}
    errors: dict[int, dict] = {}
    value_columns, point_columns = [], []
    for c in compiled:
        if c.ref is not None:
            column = values.get(c.ref, {})
            vals = [column.get(t) for t in codes]
            if c.missing == "zero":
                vals = [0.0 if v is None else v for v in vals]
        else:
            columns = [(r, values.get(r, {})) for r in c.refs]
            vals = []
            for i, t in enumerate(codes):
                try:
                    v = _number(evaluate(c.expr, {r: col.get(t) for r, col in columns}, missing=c.missing))
                except (FormulaError, ValueError, ArithmeticError) as exc:
                    v = None
                    errors.setdefault(i, {})[c.code] = str(exc)
                vals.append(None if v is None else round(v, 4))
        score = c.score
        raws = [0.0 if v is None else score(v) for v in vals]
        points = raws if c.weight == 1.0 else [round(r * c.weight, 2) for r in raws]
        if c.bonus:
            bonus = list(map(operator.add, bonus, points))
        else:
            base = list(map(operator.add, base, points))
        if c.binding:
            passes, veto = c.passes, c.veto_index
            for i, v in enumerate(vals):
                if v is None or not passes(v, raws[i]):
                    vetoes.setdefault(i, []).append(c.code)
                    if veto > cap_index[i]:
                        cap_index[i] = veto
        value_columns.append(vals)
        point_columns.append(points)

    mins = [(i, -INF if g["min"] is None else g["min"]) for i, g in enumerate(grades)]
    names = [g["name"] for g in grades]
    worst = len(grades) - 1
    cap = INF if bonus_cap is None else float(bonus_cap)
    results = []
    rows = zip(zip(*value_columns, strict=True), zip(*point_columns, strict=True), strict=True)
    for i, (town, (vals, points)) in enumerate(zip(towns, rows, strict=True)):
        extra = bonus[i]
        total = round(base[i] + (extra if extra < cap else cap), 2)
        index = worst
        for g, low in mins:
            if total >= low:
                index = g
                break
        if cap_index[i] > index:
            index = cap_index[i]
        stored = {"values": list(vals), "points": list(points)}
        if i in errors:
            stored["errors"] = errors[i]
        results.append(TownResult(town.code, town.name, town.batch, town.role, total, names[index], index,
                                  vetoes.get(i, []), stored))
    return results


@contextmanager
def _no_gc():
    """Millions of small lists: the cyclic collector would walk them again and again (3–4× slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


SCOPE_KEY = {
    "programme": lambda r: "",
    "batch": lambda r: r.batch or None,
    "role": lambda r: r.role or None,
    "province": lambda r: r.town[:2],
    "city": lambda r: r.town[:4],
    "county": lambda r: r.town[:6],
}


def rank(results: list, scopes, rank_by: str = "score") -> None:
    """Set `rank` (the programme-wide rank) and `ranks` {scope: rank} — same score, same rank ("1224")."""
    if rank_by == "grade":
        def order(r):
            return (r.grade_index, -r.score)
    else:
        def order(r):
            return -r.score
    ordered = sorted(results, key=lambda r: (order(r), r.town))
    for scope in dict.fromkeys(["programme", *scopes]):
        key = SCOPE_KEY[scope]
        groups = defaultdict(list)
        for r in ordered:
            k = key(r)
            if k is not None:
                groups[k].append(r)
        for members in groups.values():
            previous, position = None, 0
            for i, r in enumerate(members, 1):
                o = order(r)
                if o != previous:
                    position, previous = i, o
                r.ranks[scope] = position
    for r in results:
        r.rank = r.ranks["programme"]
    results.sort(key=lambda r: (r.rank, r.town))
