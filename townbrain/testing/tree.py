"""A small real slice of the org tree for tests (names and codes from the national list)."""

from townbrain.core import codes
from townbrain.core.models import OrgUnit

UNITS = {
    "33": "浙江省",
    "3301": "杭州市",
    "330109": "萧山区",
    "330109001": "城厢街道",
    "330109113": "瓜沥镇",
    "330109113201": "示例村",
    "330182": "建德市",
    "330182107": "大洋镇",
    "330182100": "梅城镇",
    "52": "贵州省",
    "5201": "贵阳市",
    "520111": "花溪区",
    "520111100": "青岩镇",
}


def build_tree(units: dict[str, str] = UNITS) -> dict[str, OrgUnit]:
    objs = [
        OrgUnit(code=c, name=n, level=codes.level_of(c), parent_id=codes.parent_of(c), town_kind=codes.town_kind(c))
        for c, n in sorted(units.items())
    ]
    OrgUnit.objects.bulk_create(objs)
    return {o.code: o for o in objs}
