"""A result's breakdown in full, in the reader's language: per criterion value, points, full marks and why.

Results store their breakdown compactly — the values and the points of the criteria as two lists
in the order of the run's snapshot, plus the formula errors if any; the sentence is made here
from the snapshot, so it is always in the language of whoever reads it and costs nothing at run
time.
"""

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .engine import compare, passes, scorer, veto_grade
from .models import Method
from .spec import criteria


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    value = float(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    text = f"{value:,.4f}".rstrip("0").rstrip(".")
    return text


def grade_label(spec: dict, name: str) -> str:
    """A grade's name in the reader's language (the scheme may give an English name as `en`)."""
    if (get_language() or "").startswith("en"):
        for g in spec.get("grades", []):
            if g["name"] == name and g.get("en"):
                return g["en"]
    return name


def band_text(band: dict) -> str:
    low, high = band.get("min"), band.get("max")
    if low is not None and high is not None:
        return f"{fmt(low)}–{fmt(high)}"
    if low is not None:
        return f"≥ {fmt(low)}"
    if high is not None:
        return f"≤ {fmt(high)}"
    return _("any value")


def why(c: dict, value, points: float, error: str | None = None) -> str:
    """The sentence that explains `points` for value `value` of criterion `c` (points after weight)."""
    weight = float(c.get("weight", 1))
    full = float(c["points"]) * weight
    args = {"value": fmt(value), "points": fmt(round(points, 2)), "max": fmt(round(full, 2))}
    method = c["method"]
    if error:
        text = _("The formula could not be evaluated (%(error)s): 0 of %(max)s points.") % {**args, "error": error}
    elif value is None:
        text = _("No value: 0 of %(max)s points.") % args
    elif method == Method.BANDS:
        band = next((b for b in sorted(c["bands"], key=lambda b: -b["points"])
                     if (b["min"] is None or value >= b["min"]) and (b["max"] is None or value <= b["max"])), None)
        if band is None:
            text = _("%(value)s lies in no band (%(bands)s): 0 of %(max)s points.") % {
                **args, "bands": "; ".join(f"{band_text(b)} → {fmt(b['points'])}" for b in c["bands"])}
        else:
            text = _("%(value)s lies in the band %(band)s: %(points)s of %(max)s points.") % {
                **args, "band": band_text(band)}
    elif method == Method.LINEAR:
        text = _("%(value)s on the scale from %(zero)s (no points) to %(full)s (full points): "
                 "%(points)s of %(max)s points.") % {**args, "zero": fmt(c["zero_at"]), "full": fmt(c["full_at"])}
    elif method == Method.PASS_FAIL:
        if c.get("threshold") is None:
            passed = bool(value)
        else:
            passed = compare(c.get("op", ">="), float(c["threshold"]))(value)
        if c.get("threshold") is None:
            text = (_("Yes: %(points)s of %(max)s points.") if passed else _("No: 0 of %(max)s points.")) % args
        elif passed:
            text = _("%(value)s %(op)s %(threshold)s holds: %(points)s of %(max)s points.") % {
                **args, "op": c.get("op", ">="), "threshold": fmt(c["threshold"])}
        else:
            text = _("%(value)s does not meet %(op)s %(threshold)s: 0 of %(max)s points.") % {
                **args, "op": c.get("op", ">="), "threshold": fmt(c["threshold"])}
    elif method == Method.DEDUCTION:
        per = float(c["per"])
        deducted = per * max(float(value), 0) * weight
        if value <= 0:
            text = _("Nothing to deduct: %(points)s of %(max)s points.") % args
        elif deducted >= full:
            text = _("%(count)s × %(per)s points to deduct = %(total)s, as much as or more than the %(max)s "
                     "points available: nothing left (扣完为止).") % {
                **args, "count": fmt(value), "per": fmt(per * weight), "total": fmt(round(deducted, 2))}
        else:
            text = _("%(count)s × %(per)s points deducted from %(max)s: %(points)s left.") % {
                **args, "count": fmt(value), "per": fmt(per * weight)}
    elif method == Method.BONUS:
        per = float(c["per"])
        earned = per * max(float(value), 0) * weight
        if earned > full:
            text = _("%(value)s × %(per)s = %(earned)s bonus points, capped at %(max)s.") % {
                **args, "per": fmt(per * weight), "earned": fmt(round(earned, 2))}
        else:
            text = _("%(value)s × %(per)s = %(points)s bonus points (at most %(max)s).") % {
                **args, "per": fmt(per * weight)}
    else:  # pragma: no cover - validate() admits no other method
        text = ""
    if weight != 1:
        text += " " + _("(weight %(weight)s)") % {"weight": fmt(weight)}
    return text


def rows(spec: dict, stored) -> list[tuple]:
    """(criterion code, value, points, error or None) per criterion from a result's stored breakdown.

    Stored as parallel lists in the order of the run's scheme: {"values", "points", "errors"}.
    """
    codes = [c["code"] for _g, c in criteria(spec)]
    if isinstance(stored, list):  # [[code, value, points(, error)], ...]
        return [(r[0], r[1], r[2], r[3] if len(r) > 3 else None) for r in stored]
    errors = stored.get("errors") or {}
    return [(code, v, p, errors.get(code)) for code, v, p in zip(codes, stored["values"], stored["points"],
                                                                  strict=True)]


def expand(spec: dict, stored) -> list[dict]:
    """The full breakdown of one result: one dict per criterion, in the scheme's order."""
    by_code = {}
    for group, c in criteria(spec):
        by_code[c["code"]] = (group, c)
    out = []
    for code, value, points, error in rows(spec, stored):
        group, c = by_code.get(code, (None, None))
        if c is None:
            out.append({"criterion": code, "value": value, "points": points, "why": ""})
            continue
        weight = float(c.get("weight", 1))
        item = {
            "criterion": code, "name": c["name"], "group": group["name"], "method": c["method"],
            "value": value, "unit": c.get("unit", ""), "points": points,
            "max": round(float(c["points"]) * weight, 2), "bonus": c["method"] == Method.BONUS,
            "binding": bool(c.get("binding")), "failed": False,
            "why": why(c, value, points, error),
        }
        if c.get("binding"):
            raw = 0.0 if value is None else scorer(c)(value)
            if value is None or not passes(c)(value, raw):
                item["failed"] = True
                item["why"] += " " + _("Binding item not met (一票否决): the grade is at most %(grade)s.") % {
                    "grade": grade_label(spec, veto_grade(spec, c))}
        out.append(item)
    return out
