"""The categories the data migration seeds (大类 → 小类 with the deadline), for the four platforms.

Deadlines follow the usual 12345 / 数字城管 practice: consultations 3 working days, requests for
help 5, complaints and disputes 10–13, urgent hazards in hours. Offices change them as data.
Each entry: (code, name, deadline_days, deadline_hours); a 大类 has no deadline.
"""

CATEGORIES = {
    "zongzhi": [
        (("zz-dispute", "矛盾纠纷"), [
            ("zz-dispute-neighbour", "邻里纠纷", 10, None),
            ("zz-dispute-land", "土地山林纠纷", 13, None),
            ("zz-dispute-wage", "劳资纠纷", 10, None),
        ]),
        (("zz-safety", "安全隐患"), [
            ("zz-safety-fire", "消防安全隐患", None, 24),
            ("zz-safety-house", "房屋安全隐患", None, 48),
            ("zz-safety-road", "道路交通安全隐患", 5, None),
        ]),
        (("zz-order", "社会治安"), [
            ("zz-order-petition", "信访苗头", 5, None),
            ("zz-order-fraud", "电信诈骗线索", None, 24),
        ]),
    ],
    "shichang": [
        (("sc-food", "食品安全"), [
            ("sc-food-unlicensed", "无证经营", 10, None),
            ("sc-food-expired", "过期变质食品", None, 48),
        ]),
        (("sc-price", "价格与消费"), [
            ("sc-price-complaint", "价格投诉", 13, None),
            ("sc-price-consumer", "消费维权", 13, None),
        ]),
        (("sc-special", "特种设备"), [
            ("sc-special-lift", "电梯故障", None, 24),
        ]),
    ],
    "zhifa": [
        (("zf-building", "违法建设"), [
            ("zf-building-illegal", "违章搭建", 13, None),
            ("zf-building-land", "违法占地", 13, None),
        ]),
        (("zf-city", "市容环境"), [
            ("zf-city-stall", "占道经营", 3, None),
            ("zf-city-garbage", "垃圾乱堆乱放", 3, None),
            ("zf-city-ad", "违规户外广告", 5, None),
        ]),
        (("zf-environment", "生态环境"), [
            ("zf-environment-sewage", "污水直排", None, 24),
            ("zf-environment-burning", "露天焚烧", None, 12),
            ("zf-environment-noise", "噪声扰民", 5, None),
        ]),
    ],
    "bianmin": [
        (("bm-consult", "政策咨询"), [
            ("bm-consult-policy", "政策咨询", 3, None),
            ("bm-consult-service", "办事咨询", 3, None),
        ]),
        (("bm-help", "求助"), [
            ("bm-help-streetlight", "路灯损坏", 5, None),
            ("bm-help-water", "停水断水", None, 12),
            ("bm-help-road", "道路破损", 10, None),
        ]),
        (("bm-suggest", "意见建议"), [
            ("bm-suggest-general", "意见建议", 13, None),
        ]),
    ],
}


def seed(EventCategory) -> int:
    """Create the categories not there yet (by code); returns how many were made."""
    made = 0
    for platform, groups in CATEGORIES.items():
        for order, ((code, name), children) in enumerate(groups, 1):
            parent, created = EventCategory.objects.get_or_create(
                code=code, defaults={"name": name, "platform": platform, "order": order * 10})
            made += created
            for sub_order, (sub_code, sub_name, days, hours) in enumerate(children, 1):
                _, created = EventCategory.objects.get_or_create(
                    code=sub_code, defaults={"name": sub_name, "platform": platform, "parent": parent,
                                             "deadline_days": days, "deadline_hours": hours,
                                             "order": order * 10 + sub_order})
                made += created
    return made
