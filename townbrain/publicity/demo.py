"""Demo publicity and honours.

- Hangzhou's 定期约稿 (seed: 浙江在线, 2020-10-17 — the city's 美丽城镇 third-quarter site meeting in
  建德 asked to "建立定期约稿机制"): every Hangzhou town enrolled in 美丽城镇 owes two articles in
  2020Q4 from a city outlet or above; the articles of October–December 2020 fill most quotas. The
  meeting's own report (浙江在线, 2020-10-17) is one of them; the other titles and dates are **demo
  data**.
- Honours (表彰): the 先进单位 and 先进个人 honoured at the 第七届贵州省小城镇建设发展大会 (seed: 贵州日报,
  2018-09-19 — the names are demo data) and a few Hangzhou 美丽城镇 honours (demo data).
Deterministic and idempotent: nothing is written when Hangzhou already has articles. Every row goes
through the services, so the audit log has them.
"""

import random
from datetime import date, timedelta

from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment

from . import services
from .models import Article, Honour, Quota

CITY = "3301"
QUOTA_PERIOD, QUOTA_ARTICLES, QUOTA_LEVEL = "2020Q4", 2, "city"
OUTLETS = [("central", "人民日报"), ("central", "新华网"), ("provincial", "浙江日报"), ("provincial", "浙江在线"),
           ("city", "杭州日报"), ("city", "杭州电视台"), ("county", "区县融媒体中心")]
WEIGHTS = [1, 1, 4, 6, 8, 4, 6]
TOPICS = ["美丽城镇建设进入年终冲刺", "“五美”项目全面开工", "打造“乡村小脑”智慧平台", "城镇环境综合整治见成效",
          "美丽街区焕新颜", "便民服务中心启用", "特色产业带动农民增收", "集镇客厅改造完成", "污水零直排建设提速"]
SEED_ARTICLE = ("330182107", "provincial", "浙江在线", date(2020, 10, 17), "决胜攻坚进行时，杭州美丽城镇建设进入年终冲刺阶段",
                "https://town.zjol.com.cn/")

GUIZHOU_MEETING = date(2018, 9, 18)
GUIZHOU_OCCASION = "第七届贵州省小城镇建设发展大会"
# (unit code, kind, recipient, honour, issuer, date, occasion, reason)
HONOURS = [
    ("522723", "unit", "贵定县人民政府", "全省小城镇建设先进单位", "贵州省人民政府", GUIZHOU_MEETING, GUIZHOU_OCCASION,
     "小城镇建设发展成效显著（演示数据）"),
    ("522701111", "unit", "都匀市匀东镇人民政府", "全省小城镇建设先进单位", "贵州省人民政府", GUIZHOU_MEETING,
     GUIZHOU_OCCASION, "示范小城镇“8+X”项目建设成效突出（演示数据）"),
    ("520330101", "unit", "习水县土城镇人民政府", "全省小城镇建设先进单位", "贵州省人民政府", GUIZHOU_MEETING,
     GUIZHOU_OCCASION, "产业大招商签约项目落地见效（演示数据）"),
    ("522723110", "person", "王志强", "全省小城镇建设先进个人", "贵州省人民政府", GUIZHOU_MEETING, GUIZHOU_OCCASION,
     "推进沿山镇茶旅融合项目（演示数据）"),
    ("520111101", "person", "李晓燕", "全省小城镇建设先进个人", "贵州省人民政府", GUIZHOU_MEETING, GUIZHOU_OCCASION,
     "青岩镇污水处理设施全覆盖（演示数据）"),
    ("330109113", "unit", "萧山区瓜沥镇人民政府", "美丽城镇建设工作先进集体", "杭州市美丽城镇建设工作领导小组办公室",
     date(2020, 12, 28), "杭州市美丽城镇建设年度总结会", "样板镇创建成绩突出（演示数据）"),
    ("330182107", "unit", "建德市大洋镇人民政府", "美丽城镇建设工作先进集体", "杭州市美丽城镇建设工作领导小组办公室",
     date(2020, 12, 28), "杭州市美丽城镇建设年度总结会", "“乡村小脑”建设先行先试（演示数据）"),
    ("330182107", "person", "陈建国", "美丽城镇建设工作先进个人", "杭州市美丽城镇建设工作领导小组办公室",
     date(2020, 12, 28), "杭州市美丽城镇建设年度总结会", "农业型美丽城镇样板创建（演示数据）"),
]


def _towns() -> list[OrgUnit]:
    enrolled = (Enrolment.objects.filter(programme__code="meili", town__code__startswith=CITY)
                .values_list("town_id", flat=True))
    towns = OrgUnit.objects.filter(code__in=enrolled) if enrolled.exists() else \
        OrgUnit.objects.filter(code__startswith=CITY, level=Level.TOWN)
    return list(towns.order_by("code"))


def load(progress=None) -> dict:
    if Article.objects.filter(town__code__startswith=CITY).exists():
        return {"articles": 0, "article_quotas": 0, "honours": 0}
    rng = random.Random(20201017)
    towns = _towns()
    articles = quotas = honours = 0
    for town in towns:
        services.create(SYSTEM, Quota, town=town, period=QUOTA_PERIOD, articles=QUOTA_ARTICLES, min_level=QUOTA_LEVEL,
                        note="定期约稿（演示数据）")
        quotas += 1
        # Most towns deliver two or three articles in the quarter, some fewer (the quota is then not met).
        for n in range(rng.choice([0, 1, 2, 2, 3, 3])):
            level, outlet = rng.choices(OUTLETS, WEIGHTS)[0]
            day = date(2020, 10, 1) + timedelta(days=rng.randrange(92))
            title = f"{town.name}：{rng.choice(TOPICS)}（演示数据{n + 1}）"
            services.create(SYSTEM, Article, town=town, level=level, outlet=outlet, published_on=day, title=title)
            articles += 1
    code, level, outlet, day, title, link = SEED_ARTICLE
    seed_town = OrgUnit.objects.filter(code=code).first()
    if seed_town is not None:
        services.create(SYSTEM, Article, town=seed_town, level=level, outlet=outlet, published_on=day, title=title,
                        link=link)
        articles += 1
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={h[0] for h in HONOURS})}
    for code, kind, recipient, title, issuer, day, occasion, reason in HONOURS:
        if code in units and not Honour.objects.filter(unit_id=code, recipient=recipient, title=title).exists():
            services.create(SYSTEM, Honour, unit=units[code], kind=kind, recipient=recipient, title=title,
                            issuer=issuer, awarded_on=day, occasion=occasion, reason=reason)
            honours += 1
    if progress:
        progress("publicity", 1, 1)
    return {"articles": articles, "article_quotas": quotas, "honours": honours}
