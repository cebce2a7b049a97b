"""Demo acceptances (省级验收) of Hangzhou's 美丽城镇 towns for 2020, at every stage of the chain.

Run after `projects.demo` (which enrols Hangzhou's towns). Deterministic and idempotent: nothing
happens when Hangzhou already has acceptances for the year. Every write goes through the services, so the
demo leaves the audit trail a real office would. The demo users act where they exist
(guali 瓜沥镇, xiaoshan 萧山区, hangzhou 杭州市, zhejiang 浙江省), the system elsewhere.

- 瓜沥镇: signed off 样板 (the whole chain, with two evidence photos);
- the next 萧山区 town: returned for correction by the county, with a comment;
- the next: at county review;
- three more: at the town's self-assessment (one half answered).
"""

import io

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile

from townbrain.assessments import services as assessment_services
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme

from . import services
from .models import Acceptance, ChecklistItem

YEAR = 2020  # the demo's assessment year: its indicator values are imported by assessments.demo
AREA = "3301"
GUALI = "330109113"


def _user(name):
    return get_user_model().objects.filter(username=name, is_active=True).first() or SYSTEM


def png(color=(46, 125, 50), size=(96, 64), label: int = 0) -> bytes:
    """A small generated PNG (a coloured card with a stripe), made in memory."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.rectangle([8, 8 + label * 4 % 40, size[0] - 8, 16 + label * 4 % 40], fill=(255, 255, 255))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _answer_all(actor, acceptance, skip=0):
    items = list(acceptance.items.all())
    for n, item in enumerate(items[:len(items) - skip]):
        if item.group == ChecklistItem.Group.BINDING and item.value_met is False:
            answer, note = ChecklistItem.Answer.NOT_MET, "指标值未达到要求，正在整改"
        elif n % 7 == 6:
            answer, note = ChecklistItem.Answer.NOT_APPLICABLE, "由相邻乡镇共建共享"
        else:
            answer, note = ChecklistItem.Answer.MET, ""
        services.self_assess_item(actor, item, answer, note)


def load(progress=None) -> dict:
    meili = Programme.objects.get(code="meili")
    if Acceptance.objects.filter(programme=meili, year=YEAR, town__code__startswith=AREA).exists():
        return {"acceptances": 0}
    if not assessment_services.official_schemes(meili, YEAR):
        assessment_services.load_fixture_schemes(SYSTEM)
    from townbrain.assessments.engine import enrolled_queryset

    enrolled = list(enrolled_queryset(meili, YEAR, area=AREA).order_by("town_id").values_list("town_id", flat=True))
    if not enrolled:
        return {"acceptances": 0}
    xiaoshan = [c for c in enrolled if c.startswith("330109") and c != GUALI]
    rest = [c for c in enrolled if c not in xiaoshan and c != GUALI]
    towns = ([GUALI] if GUALI in enrolled else []) + xiaoshan[:5] + rest
    towns = towns[:6]
    town_user, county, city, province = _user("guali"), _user("xiaoshan"), _user("hangzhou"), _user("zhejiang")
    from townbrain.core.models import OrgUnit

    units = {u.code: u for u in OrgUnit.objects.filter(code__in=towns)}
    opened = []
    for n, code in enumerate(towns):
        opened.append(services.open_acceptance(city, meili, units[code], YEAR))
        if progress:
            progress("acceptances", n + 1, len(towns))

    def actor_for(acceptance, level_user, level_len):
        """The demo user of the acting office, if the acceptance is in that user's office; else the system."""
        if level_user is not SYSTEM and level_user.memberships.filter(org_unit_id=acceptance.town_id[:level_len]).exists():
            return level_user
        return SYSTEM

    # 1. Signed off 样板, with evidence photos.
    a = opened[0]
    me = actor_for(a, town_user, 9)
    _answer_all(me, a)
    items = list(a.items.filter(group=ChecklistItem.Group.FACILITY)[:2])
    for i, item in enumerate(items):
        services.add_evidence(me, a, ContentFile(png((46 + 60 * i, 125, 50), label=i), name=f"{item.label}.png"), item)
    services.submit(me, a, "自评完成，佐证材料已上传。")
    services.approve(actor_for(a, county, 6), a, "县级初审通过。")
    services.approve(actor_for(a, city, 4), a, "市级复核通过，推荐为样板。")
    services.sign_off(actor_for(a, province, 2), a, "样板", "省级验收通过，评为样板。")

    # 2. Returned for correction by the county.
    if len(opened) > 1:
        a = opened[1]
        _answer_all(actor_for(a, town_user, 9), a)
        services.add_evidence(actor_for(a, town_user, 9), a,
                              ContentFile(png((21, 101, 192), label=3), name="综合文化站.png"))
        services.submit(actor_for(a, town_user, 9), a)
        services.return_for_correction(actor_for(a, county, 6), a,
                                       "污水处理设施缺少运行记录，请补充近三个月的运行台账后重新提交。")
    # 3. At county review.
    if len(opened) > 2:
        a = opened[2]
        _answer_all(actor_for(a, town_user, 9), a)
        services.submit(actor_for(a, town_user, 9), a, "请县里审核。")
    # 4. The rest at self-assessment; one half answered.
    if len(opened) > 3:
        a = opened[3]
        _answer_all(actor_for(a, town_user, 9), a, skip=a.items.count() // 2)
    return {"acceptances": len(opened)}
