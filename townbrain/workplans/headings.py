"""An item's heading as offices write it, found among the categories of the plan's programme.

The headings are data (`programmes.Category`): the 五美 of 美丽城镇 (功能便民环境美 …, plus 城乡融合体制机制) and
the ten 统筹 of 城乡区域统筹. Offices shorten them — 环境美, 生活美, 产业美, 人文美, 治理美; 体制机制, 基础设施,
生态文明, 规划 … — or lengthen them as the 余杭 documents do (城乡基础设施建设, 生态文明建设, 城乡各类规划,
农村新型集体经济发展). A heading is found by its code, its name, or its core words: the name without the words
every 统筹 heading shares (统筹, 城乡, 区域, 建设, 发展, 各类), equal to or containing the text's core words.
A text that fits no heading, or several, is refused, with the headings there are.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from townbrain.programmes.models import Category

NOISE = ("统筹", "城乡", "区域", "建设", "发展", "各类")
# Words offices use that name a heading by another word (the earlier wording of the 十个统筹 list).
SYNONYMS = {"生态环境": "生态文明", "与": "和"}


def core(text: str) -> str:
    text = re.sub(r"[\s“”\"'（）()·,，、]", "", text or "")
    for word, meant in SYNONYMS.items():
        text = text.replace(word, meant)
    for word in NOISE:
        text = text.replace(word, "")
    return text


def headings_of(programme) -> list[Category]:
    return list(Category.objects.filter(programme=programme).order_by("order", "id"))


def find(programme, text, headings: list[Category] | None = None) -> Category:
    """The heading of `programme` that `text` names (a Category passes through when it is the programme's)."""
    headings = headings_of(programme) if headings is None else headings
    if isinstance(text, Category):
        if text.programme_id != programme.pk:
            raise ValidationError({"heading": _("“%(heading)s” is not a heading of %(programme)s.") % {
                "heading": text.name, "programme": programme.name}})
        return text
    text = " ".join(str(text or "").split())
    if not text:
        raise ValidationError({"heading": _("Give the item's heading.")})
    for match in (lambda c: c.code == text.lower() or c.name == text,
                  lambda c: core(c.name) == core(text),
                  lambda c: core(text) and core(text) in core(c.name)):
        found = [c for c in headings if match(c)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ValidationError({"heading": _("“%(value)s” fits several headings of %(programme)s: %(found)s.") % {
                "value": text, "programme": programme.name, "found": "、".join(c.name for c in found)}})
    raise ValidationError({"heading": _("“%(value)s” is not a heading of %(programme)s; use one of %(headings)s.") % {
        "value": text, "programme": programme.name, "headings": "、".join(c.name for c in headings)}})
