"""The demo's clusters: the four Hangzhou 美丽城镇集群 of the seed articles (DOMAIN §3), made through the
services (so they leave the audit trail an office would), with the five joint indicators assessed for 2020.
Idempotent: a cluster already there (by name) is left as it is."""

from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme

from . import services
from .models import Assessment, Cluster

# (name, theme, lead, wings, county) — towns by name under the county, so the codes come from the division list.
CLUSTERS = [
    ("昌化美丽城镇集群", "临安西部山区生态旅游与山核桃产业联动", "昌化镇", ["河桥镇", "湍口镇", "龙岗镇", "清凉峰镇"], "临安区"),
    ("汾口美丽城镇集群", "千岛湖西南湖区旅游与农特产品联动", "汾口镇", ["中洲镇", "屏门乡"], "淳安县"),
    ("梅城美丽城镇集群", "新安江—富春江古城文化与山水旅游联动", "梅城镇", ["三都镇", "大洋镇"], "建德市"),
    ("河上美丽城镇集群", "萧山南部三镇山水农旅融合发展", "河上镇", ["戴村镇", "楼塔镇"], "萧山区"),
]

# The 2020 assessment of the five joint indicators, the same pattern for each cluster (demo data).
INDICATORS_2020 = [
    ("transport", Assessment.ACHIEVED, "集群内镇际公路提升完成，公交线路串联各镇"),
    ("resources", Assessment.IN_PROGRESS, "共建共享污水处理、垃圾中转和文体设施"),
    ("culture", Assessment.IN_PROGRESS, "联合举办文化节庆，统一文旅宣传品牌"),
    ("industry", Assessment.IN_PROGRESS, "龙头镇带动两翼错位发展特色产业"),
    ("economy", Assessment.NOT_STARTED, "集群招商与要素市场一体化方案编制中"),
]


def _town(name: str, county: str) -> OrgUnit | None:
    return (OrgUnit.objects.filter(name=name, parent__name=county, code__startswith="3301").order_by("code").first())


def load(progress=None) -> dict:
    if progress:
        progress("clusters", 0, len(CLUSTERS))
    programme = Programme.objects.filter(code="meili").first()
    for name, theme, lead_name, wing_names, county in CLUSTERS:
        if Cluster.objects.filter(name=name).exists():
            continue
        lead = _town(lead_name, county)
        wings = [t for t in (_town(w, county) for w in wing_names) if t is not None]
        if lead is None or not wings:  # the division list is not loaded (a test tree): nothing to make
            continue
        cluster = services.create_cluster(SYSTEM, name=name, theme=theme, lead=lead, wings=wings,
                                          programme=programme)
        for indicator, status, text in INDICATORS_2020:
            services.set_indicator(SYSTEM, cluster, indicator, 2020, status=status, text=text)
    return {"clusters": Cluster.objects.count()}
