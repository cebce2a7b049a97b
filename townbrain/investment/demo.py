"""Demo 招商: the deals of a Guizhou 小城镇产业大招商 signing ceremony.

Seed (贵州日报, 2018-09-19): on 18 September 2018 the 第七届贵州省小城镇建设发展大会 in 黔南州 held
"2018年全省小城镇产业大招商项目签约仪式". The towns are real (贵定县盘江镇, 沿山镇, 昌明镇 and 都匀市匀东镇
were visited at that meeting; 习水县土城镇 spoke there); the deals, investors and amounts are **demo
data**, not the published list. Some deals have funds in place over the following months, some
started or are producing; a deal is linked to a ledger project of its town when the town has one.
Deterministic and idempotent: nothing is written when the ceremony's deals are already there.
Every row goes through the services, so the audit log has them.
"""

from datetime import date, timedelta
from decimal import Decimal

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.projects.models import Project

from . import services
from .models import Deal

EVENT = "2018年全省小城镇产业大招商项目签约仪式（第七届贵州省小城镇建设发展大会）"
SIGNED_ON = date(2018, 9, 18)

# (town code, project name, investor, industry, signed 万元, funds in place 万元 by receipt, stage)
DEALS = [
    ("522723109", "盘江镇特色农产品加工园", "贵州黔南农业发展有限公司", "农产品加工", 32000, [6000, 8000], "started"),
    ("522723109", "盘江镇冷链物流中心", "贵州黔通物流有限公司", "商贸物流", 12000, [3000], "funded"),
    ("522723110", "沿山镇茶旅融合示范区", "贵定云雾茶业有限公司", "文化旅游", 18000, [5000, 4000, 3000], "producing"),
    ("522723111", "昌明镇新型建材产业园", "贵州昌明建材集团有限公司", "新型建材", 45000, [10000, 12000], "started"),
    ("522723111", "昌明镇电子元器件厂", "深圳华昌电子有限公司", "电子信息", 26000, [], "signed"),
    ("522701111", "匀东镇大数据产业园", "贵州匀东数据科技有限公司", "大数据", 60000, [15000, 10000], "started"),
    ("522701111", "匀东镇康养度假小镇", "黔南康养旅游开发有限公司", "康养", 38000, [8000], "funded"),
    ("520330101", "土城镇红色文化旅游综合体", "贵州赤水河文旅投资有限公司", "文化旅游", 28000, [6000, 6000], "producing"),
    ("520330101", "土城镇酱香白酒配套包材厂", "习水县黔北包装有限公司", "白酒配套", 15000, [4000], "funded"),
    ("520111101", "青岩镇古镇文旅综合体", "贵阳文化旅游产业集团", "文化旅游", 50000, [12000, 8000], "started"),
    ("520382117", "茅台镇酱香酒文化体验园", "仁怀市酱香酒文化发展有限公司", "白酒配套", 42000, [9000, 9000, 6000],
     "producing"),
    ("520381110", "丙安镇竹产业加工园", "赤水市竹业开发有限公司", "竹产业", 9000, [], "signed"),
    ("520402109", "旧州镇屯堡文化旅游提升项目", "安顺屯堡文旅有限公司", "文化旅游", 16000, [4000], "funded"),
    ("520403103", "天龙镇屯堡民宿集群", "贵州天龙旅游开发有限公司", "文化旅游", 7000, [2000, 1500], "started"),
    ("522601109", "下司镇古镇码头商贸街", "凯里市下司商贸有限公司", "商贸物流", 11000, [], "signed"),
    ("522631111", "肇兴镇侗寨民宿与非遗工坊", "黎平侗乡文旅有限公司", "文化旅游", 8000, [3000], "funded"),
    ("522634101", "西江镇苗寨精品酒店", "贵州西江千户苗寨文化旅游发展有限公司", "文化旅游", 20000, [5000, 5000],
     "producing"),
    ("520603100", "万山镇朱砂文创产业园", "铜仁万山文创有限公司", "文化创意", 13000, [2500], "funded"),
]


def load(progress=None) -> dict:
    if Deal.objects.filter(event=EVENT).exists():
        return {"deals": 0}
    towns = {u.code: u for u in OrgUnit.objects.filter(code__in={d[0] for d in DEALS})}
    written = 0
    for i, (code, name, investor, industry, signed, receipts, stage) in enumerate(DEALS):
        town = towns.get(code)
        if town is None:  # the province was loaded without this town
            continue
        project = Project.objects.filter(town=town).order_by("code").first() if stage in ("started", "producing") \
            else None
        deal = services.create_deal(SYSTEM, town=town, name=name, investor=investor, industry=industry,
                                    signed_amount=Decimal(signed), signed_on=SIGNED_ON, event=EVENT,
                                    stage="signed", stage_on=SIGNED_ON)
        # Funds arrive in instalments, one every two months or so after the ceremony.
        for n, amount in enumerate(receipts, start=1):
            services.add_receipt(SYSTEM, deal, date=SIGNED_ON + timedelta(days=45 * n + i), amount=Decimal(amount),
                                 note="演示数据")
        if stage in ("started", "producing"):
            services.update_deal(SYSTEM, deal, stage="started", project=project,
                                 stage_on=SIGNED_ON + timedelta(days=120 + 7 * i))
        if stage == "producing":
            services.update_deal(SYSTEM, deal, stage="producing", stage_on=date(2019, 10, 1) + timedelta(days=9 * i))
        written += 1
        if progress:
            progress("deals", written, len(DEALS))
    return {"deals": written}
