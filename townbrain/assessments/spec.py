"""A scheme as plain data: the YAML/JSON form (docs/assessments.md), its validation, and the model.

`validate(data)` checks a scheme as written by a person and returns its normal form — the dict
the engine runs and a run keeps as its snapshot. `from_scheme(scheme)` gives the same form
from the database, `dump(spec, "yaml"|"json")` / `load(text)` read and write it.
"""

import json
import re
from decimal import Decimal

import yaml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from .models import Method, RankScope
from .sources import SOURCES

OPS = (">=", ">", "<=", "<", "==", "!=")
VALUE_TYPES = ("number", "percent", "boolean", "text")
AGGREGATIONS = ("sum", "average", "last")
# Method parameters, by method; every other criterion key is common to all methods.
PARAMS = {
    Method.BANDS: ("bands",),
    Method.LINEAR: ("zero_at", "full_at"),
    Method.PASS_FAIL: ("op", "threshold"),
    Method.DEDUCTION: ("per",),
    Method.BONUS: ("per",),
}
ALL_PARAMS = {p for ps in PARAMS.values() for p in ps} | {"pass_points"}
CRITERION_KEYS = {"code", "name", "description", "formula", "system", "unit", "method", "points", "weight",
                  "binding", "veto", "missing_as_zero", *ALL_PARAMS}
SCHEME_KEYS = {"code", "name", "programme", "version", "years", "status", "roles", "description", "grades",
               "rank_scopes", "rank_by", "bonus_cap", "elements", "groups", "criteria", "based_on",
               "consequences"}
# What a grade leads to once the run is frozen (services.apply_consequences):
#   change_role  the town is on the `role` list from next year (特色小镇 降格: 创建 → 培育)
#   exit         the town leaves the programme after this year (淘汰)
#   flag         the town is flagged once it has had the grade in `times` years (小城市 警告 twice)
CONSEQUENCE_ACTIONS = ("change_role", "exit", "flag")
SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")
SINGLE_REF = re.compile(r"^\s*#\{\s*([-a-zA-Z0-9_]+)\s*\}\s*$")


class SchemeError(ValidationError):
    pass


def _fail(where: str, message: str):
    raise SchemeError(f"{where}: {message}" if where else message)


def _number(value, where: str, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or value is None:
        _fail(where, _("a number is needed, got “%(value)s”.") % {"value": value})
    if isinstance(value, int | float):
        return value
    try:
        number = float(Decimal(str(value).strip().replace(",", "")))
    except Exception:  # noqa: BLE001 - any unreadable text is the same mistake
        _fail(where, _("a number is needed, got “%(value)s”.") % {"value": value})
    return int(number) if number == int(number) else number


def _text(value, where: str, *, required=True, slug=False, max_length=200) -> str:
    text = "" if value is None else str(value).strip()
    if required and not text:
        _fail(where, _("this is required."))
    if slug and text and not SLUG.match(text):
        _fail(where, _("“%(value)s” may hold only letters, digits, - and _.") % {"value": text})
    if len(text) > max_length:
        _fail(where, _("at most %(n)s characters.") % {"n": max_length})
    return text


SCHEME_MAX_BYTES = 2 * 1024 * 1024  # a rulebook is a few dozen KB


def load(text: str | bytes) -> dict:
    """Read a scheme written as YAML or JSON (JSON is YAML too), at most SCHEME_MAX_BYTES."""
    size = len(text if isinstance(text, bytes) else text.encode())
    if size > SCHEME_MAX_BYTES:
        raise SchemeError(_("The scheme file is %(size)s KB; the limit is %(max)s KB.") % {
            "size": -(-size // 1024), "max": SCHEME_MAX_BYTES // 1024})
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SchemeError(_("The scheme file is not UTF-8 text (a .yaml or .json file).")) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = _("line %(line)s, column %(col)s") % {"line": mark.line + 1, "col": mark.column + 1} if mark else ""
        raise SchemeError(_("The scheme is not valid YAML or JSON (%(where)s): %(problem)s")
                          % {"where": where, "problem": getattr(exc, "problem", exc)}) from None
    if not isinstance(data, dict):
        raise SchemeError(_("A scheme is a mapping with code, name, programme, grades and groups."))
    return data


class _Flow(dict):
    """A small mapping written on one line: {min: 90, points: 6}."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True))


def dump(spec: dict, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(spec, ensure_ascii=False, indent=2) + "\n"
    spec = dict(spec)
    spec["grades"] = [_Flow(g) for g in spec.get("grades", [])]
    spec["elements"] = [_Flow(e) for e in spec.get("elements", [])]
    spec["groups"] = [{**g, "criteria": [{**c, "bands": [_Flow(b) for b in c["bands"]]} if "bands" in c else c
                                         for c in g["criteria"]]} for g in spec.get("groups", [])]
    return yaml.dump(spec, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=110)


def _grades(data, where="grades") -> list[dict]:
    if not isinstance(data, list) or not data:
        _fail(where, _("list the grades, best first, each with a name and a minimum score."))
    out, names, last_min = [], set(), None
    for i, g in enumerate(data):
        w = f"{where}[{i}]"
        if isinstance(g, str):
            g = {"name": g}
        if not isinstance(g, dict):
            _fail(w, _("a grade is {name, min}."))
        name = _text(g.get("name"), f"{w}.name", max_length=30)
        if name in names:
            _fail(w, _("grade “%(name)s” appears twice.") % {"name": name})
        names.add(name)
        low = _number(g.get("min"), f"{w}.min", allow_none=True)
        if low is None and i != len(data) - 1:
            _fail(w, _("only the last grade may have no minimum."))
        if low is not None and last_min is not None and low > last_min:
            _fail(w, _("grades go best first: minimum %(low)s is above the one before (%(prev)s).")
                  % {"low": low, "prev": last_min})
        last_min = low if low is not None else last_min
        grade = {"name": name, "min": low}
        if g.get("en"):
            grade["en"] = _text(g.get("en"), f"{w}.en", max_length=60)
        out.append(grade)
    return out


def _bands(data, where: str) -> list[dict]:
    if not isinstance(data, list) or not data:
        _fail(where, _("list the bands: each {min, max, points}; min and max are inclusive, either may be left out."))
    out = []
    for i, b in enumerate(data):
        w = f"{where}[{i}]"
        if not isinstance(b, dict) or "points" not in b:
            _fail(w, _("a band is {min, max, points}."))
        low = _number(b.get("min"), f"{w}.min", allow_none=True)
        high = _number(b.get("max"), f"{w}.max", allow_none=True)
        if low is not None and high is not None and low > high:
            _fail(w, _("min %(low)s is above max %(high)s.") % {"low": low, "high": high})
        band = {"min": low, "max": high, "points": _number(b.get("points"), f"{w}.points")}
        out.append(band)
    return out


def _criterion(c, where: str, grade_names: set, formula_check) -> dict:
    if not isinstance(c, dict):
        _fail(where, _("a criterion is a mapping (code, name, formula or system, method, points)."))
    unknown = set(c) - CRITERION_KEYS
    if unknown:
        _fail(where, _("unknown key(s): %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))})
    code = _text(c.get("code"), f"{where}.code", slug=True, max_length=60)
    where = f"{where} ({code})"
    out = {"code": code, "name": _text(c.get("name"), f"{where}.name")}
    if c.get("description"):
        out["description"] = str(c["description"]).strip()
    formula, system = (c.get("formula") or "").strip(), (c.get("system") or "").strip()
    if bool(formula) == bool(system):
        _fail(where, _("give either a formula over data elements or a system source, not both."))
    if formula:
        formula_check(formula, f"{where}.formula")
        out["formula"] = formula
    else:
        source = SOURCES.get(system)
        if source is None:
            _fail(f"{where}.system", _("unknown system source “%(key)s”; known: %(keys)s.")
                  % {"key": system, "keys": ", ".join(SOURCES)})
        out["system"] = system
    if c.get("unit"):
        out["unit"] = _text(c.get("unit"), f"{where}.unit", max_length=20)
    method = str(c.get("method") or "").strip()
    if method not in Method.values:
        _fail(f"{where}.method", _("the scoring method is one of %(methods)s.") % {"methods": ", ".join(Method.values)})
    out["method"] = method
    points = _number(c.get("points"), f"{where}.points")
    if points < 0:
        _fail(f"{where}.points", _("points cannot be negative."))
    out["points"] = points
    weight = _number(c.get("weight", 1), f"{where}.weight")
    if weight < 0:
        _fail(f"{where}.weight", _("a weight cannot be negative."))
    out["weight"] = weight
    stray = (set(c) & ALL_PARAMS) - set(PARAMS[method]) - {"pass_points"}
    if stray:
        _fail(where, _("%(keys)s do(es) not apply to the method %(method)s.")
              % {"keys": ", ".join(sorted(stray)), "method": method})
    if method == Method.BANDS:
        out["bands"] = _bands(c.get("bands"), f"{where}.bands")
        top = max(b["points"] for b in out["bands"])
        if top > points:
            _fail(f"{where}.bands", _("a band gives %(top)s points, more than the criterion's %(points)s.")
                  % {"top": top, "points": points})
    elif method == Method.LINEAR:
        out["zero_at"] = _number(c.get("zero_at"), f"{where}.zero_at")
        out["full_at"] = _number(c.get("full_at"), f"{where}.full_at")
        if out["zero_at"] == out["full_at"]:
            _fail(where, _("zero_at and full_at must differ."))
    elif method == Method.PASS_FAIL:
        if c.get("threshold") is not None:
            op = str(c.get("op") or ">=").strip()
            if op not in OPS:
                _fail(f"{where}.op", _("the comparison is one of %(ops)s.") % {"ops": " ".join(OPS)})
            out["op"] = op
            out["threshold"] = _number(c.get("threshold"), f"{where}.threshold")
        elif c.get("op"):
            _fail(where, _("a comparison needs a threshold."))
    elif method in (Method.DEDUCTION, Method.BONUS):
        default = 1 if method == Method.DEDUCTION else points
        out["per"] = _number(c.get("per", default), f"{where}.per")
        if out["per"] < 0:
            _fail(f"{where}.per", _("points per occurrence cannot be negative."))
    if c.get("pass_points") is not None:
        out["pass_points"] = _number(c.get("pass_points"), f"{where}.pass_points")
    binding = bool(c.get("binding", False))
    if binding and method == Method.BONUS:
        _fail(where, _("a bonus item cannot be binding."))
    out["binding"] = binding
    if binding:
        veto = str(c.get("veto") or "").strip()
        if veto and veto not in grade_names:
            _fail(f"{where}.veto", _("“%(grade)s” is not one of the scheme's grades.") % {"grade": veto})
        if veto:
            out["veto"] = veto
    elif c.get("veto"):
        _fail(f"{where}.veto", _("only a binding criterion caps the grade; add binding: true."))
    if c.get("missing_as_zero"):
        out["missing_as_zero"] = True
    return out


def _element(e, where: str) -> dict:
    if not isinstance(e, dict):
        _fail(where, _("a data element is {code, name, value_type, unit, aggregation}."))
    out = {"code": _text(e.get("code"), f"{where}.code", slug=True, max_length=60),
           "name": _text(e.get("name"), f"{where}.name")}
    value_type = str(e.get("value_type") or "number")
    if value_type not in VALUE_TYPES:
        _fail(f"{where}.value_type", _("one of %(values)s.") % {"values": ", ".join(VALUE_TYPES)})
    aggregation = str(e.get("aggregation") or "sum")
    if aggregation not in AGGREGATIONS:
        _fail(f"{where}.aggregation", _("one of %(values)s.") % {"values": ", ".join(AGGREGATIONS)})
    out.update(value_type=value_type, unit=str(e.get("unit") or ""), aggregation=aggregation)
    if e.get("description"):
        out["description"] = str(e["description"])
    return out


def check_formula(formula: str, where: str) -> None:
    from townbrain.indicators.expressions import FormulaSyntaxError, parse

    try:
        parse(formula)
    except FormulaSyntaxError as exc:
        _fail(where, str(exc))


def references(formula: str) -> set[str]:
    m = SINGLE_REF.match(formula)
    if m:
        return {m.group(1)}
    from townbrain.indicators.expressions import parse

    return set(parse(formula).references())


def _consequences(data, grade_names: set) -> list[dict]:
    if not data:
        return []
    if not isinstance(data, list):
        _fail("consequences", _("a list of rules {grade, action}."))
    rules = []
    for i, r in enumerate(data):
        w = f"consequences[{i}]"
        if not isinstance(r, dict) or set(r) - {"grade", "action", "role", "times"}:
            _fail(w, _("a rule is {grade, action} with role (change_role) or times (flag)."))
        grade = str(r.get("grade") or "")
        if grade not in grade_names:
            _fail(f"{w}.grade", _("“%(grade)s” is not one of the scheme's grades.") % {"grade": grade})
        action = r.get("action")
        if action not in CONSEQUENCE_ACTIONS:
            _fail(f"{w}.action", _("one of %(values)s.") % {"values": ", ".join(CONSEQUENCE_ACTIONS)})
        rule = {"grade": grade, "action": action}
        if action == "change_role":
            rule["role"] = _text(r.get("role"), f"{w}.role", slug=True, max_length=30)
        if action == "flag":
            times = _number(r.get("times", 1), f"{w}.times")
            if times != int(times) or times < 1:
                _fail(f"{w}.times", _("a whole number of years, at least 1."))
            rule["times"] = int(times)
        rules.append(rule)
    return rules


def validate(data: dict) -> dict:
    """The normal form of a scheme written by a person; SchemeError naming the place of the first mistake."""
    if not isinstance(data, dict):
        raise SchemeError(_("A scheme is a mapping with code, name, programme, grades and groups."))
    unknown = set(data) - SCHEME_KEYS
    if unknown:
        _fail("", _("unknown key(s): %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))})
    spec = {
        "code": _text(data.get("code"), "code", slug=True, max_length=60),
        "name": _text(data.get("name"), "name"),
        "programme": _text(data.get("programme"), "programme", slug=True, max_length=30),
        "version": int(_number(data.get("version", 1), "version")),
        "status": str(data.get("status") or "official"),
    }
    if spec["status"] not in ("draft", "official"):
        _fail("status", _("draft or official."))
    years = data.get("years")
    if years is None:
        spec["years"] = [None, None]
    else:
        if isinstance(years, int):
            years = [years, years]
        if not isinstance(years, list) or len(years) != 2:
            _fail("years", _("write [first year, last year] (either may be null)."))
        spec["years"] = [None if y is None else int(_number(y, "years")) for y in years]
    spec["roles"] = [_text(r, "roles", slug=True, max_length=30) for r in (data.get("roles") or [])]
    if data.get("description"):
        spec["description"] = str(data["description"]).strip()
    spec["grades"] = _grades(data.get("grades"))
    scopes = data.get("rank_scopes", ["programme"])
    if not isinstance(scopes, list) or any(s not in RankScope.values for s in scopes):
        _fail("rank_scopes", _("a list of %(values)s.") % {"values": ", ".join(RankScope.values)})
    spec["rank_scopes"] = list(dict.fromkeys(["programme", *scopes]))
    spec["rank_by"] = str(data.get("rank_by") or "score")
    if spec["rank_by"] not in ("score", "grade"):
        _fail("rank_by", _("score (the default) or grade (grade first, then score)."))
    spec["bonus_cap"] = _number(data.get("bonus_cap"), "bonus_cap", allow_none=True)
    if data.get("based_on"):
        spec["based_on"] = str(data["based_on"])
    spec["elements"] = [_element(e, f"elements[{i}]") for i, e in enumerate(data.get("elements") or [])]
    grade_names = {g["name"] for g in spec["grades"]}
    groups = data.get("groups") or []
    if data.get("criteria"):
        groups = [*groups, {"code": "other", "name": _("Other"), "criteria": data["criteria"]}]
    if not isinstance(groups, list) or not groups:
        _fail("groups", _("a scheme needs at least one group of criteria."))
    spec["groups"], seen, group_codes = [], set(), set()
    for gi, g in enumerate(groups):
        w = f"groups[{gi}]"
        if not isinstance(g, dict):
            _fail(w, _("a group is {code, name, criteria}."))
        code = _text(g.get("code"), f"{w}.code", slug=True, max_length=60)
        if code in group_codes:
            _fail(w, _("group “%(code)s” appears twice.") % {"code": code})
        group_codes.add(code)
        criteria = g.get("criteria") or []
        if not isinstance(criteria, list) or not criteria:
            _fail(w, _("a group needs at least one criterion."))
        out = {"code": code, "name": _text(g.get("name"), f"{w}.name"), "criteria": []}
        for ci, c in enumerate(criteria):
            crit = _criterion(c, f"{w}.criteria[{ci}]", grade_names, check_formula)
            if crit["code"] in seen:
                _fail(f"{w}.criteria[{ci}]", _("criterion “%(code)s” appears twice.") % {"code": crit["code"]})
            seen.add(crit["code"])
            out["criteria"].append(crit)
        spec["groups"].append(out)
    consequences = _consequences(data.get("consequences"), grade_names)
    if consequences:  # only when there are some, so schemes without them keep their normal form
        spec["consequences"] = consequences
    return spec


def criteria(spec: dict):
    """(group, criterion) pairs in order."""
    for group in spec["groups"]:
        for c in group["criteria"]:
            yield group, c


def element_codes(spec: dict) -> set[str]:
    codes = set()
    for _group, c in criteria(spec):
        if c.get("formula"):
            codes |= references(c["formula"])
    return codes


def max_score(spec: dict) -> float:
    return sum(c["points"] * c["weight"] for _g, c in criteria(spec) if c["method"] != Method.BONUS)


# --- the database form ----------------------------------------------------------------------------

def plain_number(value):
    """A number as the YAML form and the scheme editor write it (40, not 40.00 or 40.0); anything else as it is."""
    if isinstance(value, Decimal | float | int) and not isinstance(value, bool):
        value = float(value)
        return int(value) if value == int(value) else value
    return value


def criterion_spec(c) -> dict:
    """A Criterion row in the YAML form (its parameters flattened into the criterion)."""
    out = {"code": c.code, "name": c.name}
    if c.description:
        out["description"] = c.description
    if c.formula:
        out["formula"] = c.formula
    else:
        out["system"] = c.system
    if c.unit:
        out["unit"] = c.unit
    out.update(method=c.method, points=plain_number(c.points), weight=plain_number(c.weight))
    for key in (*PARAMS[c.method], "pass_points"):
        if key in c.params:
            out[key] = c.params[key]
    out["binding"] = c.binding
    if c.veto:
        out["veto"] = c.veto
    if c.missing_as_zero:
        out["missing_as_zero"] = True
    return out


def from_scheme(scheme, with_elements: bool = True) -> dict:
    """The normal form of a scheme stored in the database (what a run snapshots and export writes)."""
    from townbrain.indicators.models import DataElement

    spec = {
        "code": scheme.code, "name": scheme.name, "programme": scheme.programme.code, "version": scheme.version,
        "status": scheme.status, "years": [scheme.year_from, scheme.year_to], "roles": list(scheme.roles),
    }
    if scheme.description:
        spec["description"] = scheme.description
    spec.update(grades=list(scheme.grades), rank_scopes=list(scheme.rank_scopes) or ["programme"],
                rank_by=scheme.rank_by, bonus_cap=plain_number(scheme.bonus_cap))
    if scheme.based_on_id:
        spec["based_on"] = scheme.based_on.code
    spec["elements"] = []
    if scheme.consequences:
        spec["consequences"] = list(scheme.consequences)
    groups = list(scheme.groups.all())
    criteria_rows = list(scheme.criteria.all())
    by_group = {}
    for c in criteria_rows:
        by_group.setdefault(c.group_id, []).append(criterion_spec(c))
    spec["groups"] = [{"code": g.code, "name": g.name, "criteria": by_group.get(g.pk, [])}
                      for g in groups if by_group.get(g.pk)]
    if by_group.get(None):
        spec["groups"].append({"code": "other", "name": _("Other"), "criteria": by_group[None]})
    if with_elements:
        codes = element_codes(spec)
        spec["elements"] = [
            {"code": e.code, "name": e.name, "value_type": e.value_type, "unit": e.unit, "aggregation": e.aggregation}
            for e in DataElement.objects.filter(code__in=codes).order_by("code")
        ]
    return spec
