"""Facility kinds (the acceptance checklist's facility items, not a second list) and coverage.

Coverage of an org unit: of its towns (or of a programme's enrolled towns there, e.g. Guizhou's
示范小城镇, programme `shifan`), the share with an operating garbage facility AND an operating
sewage facility, plus the treatment rates where the indicator elements exist.
"""

from decimal import Decimal

import yaml
from django.conf import settings
from django.utils.translation import gettext as _

from townbrain.core.models import Level, OrgUnit

from .models import Facility, FacilityStatus

SEWAGE, GARBAGE, WATER = "sewage-plant", "garbage-treatment", "water-supply"
OTHER = "other"
# The indicator elements behind the rates (assessments/fixtures): read when they exist.
RATE_ELEMENTS = {"sewage_treatment_rate": SEWAGE, "garbage_harmless_rate": GARBAGE}


def kinds() -> dict[str, str]:
    """{code: name} of every facility item of every programme's checklist, then "other"."""
    from townbrain.acceptance.services import FACILITIES_FILE, facilities_for

    table = getattr(settings, "ACCEPTANCE_FACILITIES", None)
    if table is None:
        table = yaml.safe_load(FACILITIES_FILE.read_text(encoding="utf-8")) or {}
    out = {}
    for programme in table:
        for item in facilities_for(programme):
            out.setdefault(item["code"], item["name"])
    out.setdefault(SEWAGE, _("Sewage treatment facility"))
    out.setdefault(GARBAGE, _("Garbage treatment facility"))
    out.setdefault(WATER, _("Water supply"))
    out[OTHER] = _("Other")
    return out


def kind_name(code: str) -> str:
    return kinds().get(code, code)


def _share(n: int, total: int):
    return (Decimal(n) * 100 / total).quantize(Decimal("0.1")) if total else None


def coverage(user, org: OrgUnit, programme: str = "", period: str = "") -> dict:
    """Towns under `org` (only those enrolled in `programme` when given) with operating garbage and
    sewage facilities; `period` (YYYY or YYYYMM) reads the rates and counts facilities operating by then."""
    towns = OrgUnit.objects.restrict(user, "view").filter(level=Level.TOWN, code__startswith=org.code)
    if programme:
        towns = towns.filter(enrolments__programme__code=programme)
    town_codes = set(towns.values_list("code", flat=True))
    operating = Facility.objects.restrict(user, "view").filter(
        town__code__startswith=org.code, status=FacilityStatus.OPERATING, kind__in=[SEWAGE, GARBAGE])
    if period:
        from townbrain.core import periods

        operating = operating.exclude(started_on__gt=periods.month_end(periods.months_of(period)[-1]))
    having = {SEWAGE: set(), GARBAGE: set()}
    for town, kind in operating.values_list("town_id", "kind"):
        if town in town_codes:
            having[kind].add(town)
    both = having[SEWAGE] & having[GARBAGE]
    total = len(town_codes)
    return {
        "org": org.code, "programme": programme, "towns": total,
        "with_sewage": len(having[SEWAGE]), "with_garbage": len(having[GARBAGE]), "with_both": len(both),
        "sewage_share": _share(len(having[SEWAGE]), total), "garbage_share": _share(len(having[GARBAGE]), total),
        "both_share": _share(len(both), total), "missing": sorted(town_codes - both),
        "rates": rates(org.code, period) if period else {},
    }


def rates(org_code: str, period: str) -> dict:
    """生活污水处理率 / 生活垃圾无害化处理率 (%) from indicator values, for the elements that exist."""
    from townbrain.indicators.models import DataElement
    from townbrain.indicators.values import value_of

    out = {}
    for element in DataElement.objects.filter(code__in=list(RATE_ELEMENTS)):
        value = value_of(element, org_code, period)
        if value is not None:
            out[element.code] = {"name": element.name, "value": value, "unit": "%"}
    return out
