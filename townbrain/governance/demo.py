"""Demo events (基层治理) for 2020 in 萧山区 (330109) and 建德市 (330182), across the four platforms.

Deterministic (a seeded random) and idempotent (nothing happens when the two counties already have
events). Every event goes through the services, step by step with its own dates, so the timeline,
the audit trail, the deadlines on the 2020 calendar and the statistics are what a real office's
would be. The mix, per town and month: most closed on time and reviewed, some closed late, some
reopened after a 不满意 review (重办) and closed again, a few not accepted (不予受理), one in ten
extended (延期, asked by the town and approved by the county); the last weeks of the year leave events open, some past their deadline. The demo
users act where they exist (guali 瓜沥镇, dayang 大洋镇, xiaoshan 萧山区, jiande 建德市); escalation
then runs once, so their bells ring for the overdue ones.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM

from . import services
from .models import Event, EventCategory, Source

YEAR = 2020
COUNTIES = {"330109": "xiaoshan", "330182": "jiande"}
TOWN_USERS = {"330109113": "guali", "330182107": "dayang"}
KEEP = ("330109113", "330182107")  # always among the demo towns
TOWNS_PER_COUNTY = 5
WHAT = {
    "zongzhi": ["邻里因排水问题发生纠纷", "村民反映宅基地边界争议", "工地拖欠农民工工资", "老旧民房墙体开裂存在隐患",
                "沿街店铺私拉电线存在消防隐患"],
    "shichang": ["早餐店无证经营", "超市销售过期食品", "农贸市场缺斤短两", "小区电梯多次故障困人"],
    "zhifa": ["菜场门口占道经营", "河道边违章搭建棚屋", "企业夜间噪声扰民", "田间露天焚烧秸秆", "雨水管有污水直排"],
    "bianmin": ["村口路灯不亮", "咨询新农合报销政策", "自来水停水未通知", "村道路面破损", "建议增设公交站点"],
}


def _user(name):
    return get_user_model().objects.filter(username=name, is_active=True).first() or SYSTEM


def _at(day, hour, minute=0):
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour, minute))


def _towns(county):
    towns = list(OrgUnit.objects.filter(code__startswith=county, level=Level.TOWN).order_by("code"))
    chosen = [t for t in towns if t.code in KEEP]
    chosen += [t for t in towns if t.code not in KEEP][:TOWNS_PER_COUNTY - len(chosen)]
    return chosen


def _one(rng, town, actor, category, day, now, late_in_year, keep_open=False, approver=None):
    reported = _at(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
    lat = lng = None
    if town.latitude is not None and town.longitude is not None:
        lat = town.latitude + Decimal(rng.randint(-300, 300)) / 10000
        lng = town.longitude + Decimal(rng.randint(-300, 300)) / 10000
    source = rng.choice([Source.GRID] * 5 + [Source.CITIZEN, Source.HOTLINE, Source.HOTLINE, Source.VIDEO])
    event = services.report_event(
        actor, town, category, rng.choice(WHAT[category.platform]), lat=lat, lng=lng, source=source,
        reporter_phone=f"1{rng.choice('35789')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
        address=f"{town.name}{rng.choice(['东街', '中心村', '工业园区', '农贸市场', '文化广场'])}", at=reported)
    roll = rng.random()
    if roll < 0.07 and not keep_open:
        services.take_step(actor, event, "reject", "不属于受理范围，已告知来电人", at=reported + timedelta(hours=2))
        return "rejected"
    if late_in_year and roll > 0.93 and not keep_open:
        return "waiting"  # reported in the last days, not accepted yet
    accepted = reported + timedelta(hours=rng.randint(1, 3))
    services.take_step(actor, event, "accept", "已受理", at=accepted)
    dispatched = accepted + timedelta(hours=rng.randint(1, 4))
    services.take_step(actor, event, "dispatch", "请按时限处置", to=rng.choice(["", "", "综合执法中队", "村委会"]),
                       at=dispatched)
    if rng.random() < 0.1:
        asked = min(dispatched + timedelta(hours=20), event.deadline - timedelta(hours=1))
        services.take_step(actor, event, "extend", "需多部门协调，申请延期", days=3, at=asked)
        if event.extension_pending and approver is not None:
            # 延期 is approved above: the county office answers the town's request.
            services.take_step(approver, event, "approve", "同意延期三个工作日", at=asked + timedelta(hours=2))
    late = rng.random() < 0.18
    span = event.deadline - dispatched
    closed = event.deadline + timedelta(days=rng.randint(1, 6)) if late else dispatched + span * rng.uniform(0.2, 0.9)
    if keep_open or closed > now - timedelta(hours=6) or (late_in_year and rng.random() < 0.5):
        # Still in hand at the end of the year: handled or not yet.
        if rng.random() < 0.5:
            services.take_step(actor, event, "handle", "已到现场处置", at=dispatched + span * 0.3)
        return "open"
    _close(actor, event, closed)
    verdict = rng.choices(["satisfied", "basically_satisfied", "dissatisfied"], [75, 17, 8])[0]
    review_at = closed + timedelta(hours=rng.randint(20, 40))
    if review_at > now:
        return "closed"
    services.take_step(actor, event, "review", "电话回访", verdict=verdict, at=review_at)
    if verdict != "dissatisfied":
        return "closed"
    # 重办: back to the handler with a new clock; this time done in time.
    redo = review_at + (event.deadline - review_at) * rng.uniform(0.3, 0.8)
    if redo > now:
        return "reopened"
    _close(actor, event, redo)
    services.take_step(actor, event, "review", "二次回访", verdict="basically_satisfied",
                       at=redo + timedelta(hours=24))
    return "reopened"


def _close(actor, event, closed):
    start = event.dispatched_at
    gap = (closed - start) / 4
    services.take_step(actor, event, "handle", "已处置", at=start + gap)
    services.take_step(actor, event, "feedback", "处置结果已反馈并上传照片", at=start + gap * 2)
    services.take_step(actor, event, "verify", "核查属实", at=start + gap * 3)
    services.take_step(actor, event, "close", "结案", at=closed)


def load(progress=None) -> dict:
    if Event.objects.filter(town__code__startswith="330109").exists() or \
            Event.objects.filter(town__code__startswith="330182").exists():
        return {"events": 0}
    rng = random.Random(14)
    categories = list(EventCategory.objects.filter(parent__isnull=False).order_by("code"))
    end = timezone.make_aware(datetime(YEAR, 12, 31, 18, 0))
    counts = {}
    towns = [(t, county) for county in COUNTIES for t in _towns(county)]
    for n, (town, county) in enumerate(towns, 1):
        actor = _user(TOWN_USERS.get(town.code, COUNTIES[county]))
        approver = _user(COUNTIES[county])
        for month in range(1, 13):
            many = rng.randint(2, 4)
            for i in range(many):
                day = datetime(YEAR, month, rng.randint(1, 28))
                late_in_year = month == 12 and day.day > 14
                # Each town ends the year with at least one event still in hand.
                keep_open = month == 12 and i == many - 1
                outcome = _one(rng, town, actor, rng.choice(categories), day, end, late_in_year, keep_open,
                               approver=approver)
                counts[outcome] = counts.get(outcome, 0) + 1
        if progress:
            progress("events", n, len(towns))
    escalated = services.escalate()
    return {"events": sum(counts.values()), "events_open": counts.get("open", 0) + counts.get("waiting", 0),
            "events_reopened": counts.get("reopened", 0), "events_escalated": escalated["reminded"]}
