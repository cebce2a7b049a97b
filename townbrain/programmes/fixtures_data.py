"""The five programmes that ship with TownBrain (DOMAIN.md §3). Loaded by a data migration."""

PROGRAMMES = [
    {
        "code": "meili", "name": "美丽城镇",
        "description": "浙江美丽城镇建设（2019–2022）：样板创建乡镇与达标乡镇，“五美”项目与指标。",
        "categories": [
            ("gongneng", "功能便民环境美"), ("gongxiang", "共享乐民生活美"), ("xingye", "兴业富民产业美"),
            ("renwen", "魅力亲民人文美"), ("shanzhi", "善治为民治理美"), ("ronghe", "城乡融合体制机制"),
        ],
        "roles": [("yangban", "样板创建乡镇"), ("dabiao", "达标乡镇")],
        "batches": [("2019", "2019年", 2019), ("2020", "2020年", 2020), ("2021", "2021年", 2021),
                    ("2022", "2022年", 2022)],
    },
    {
        "code": "xiaochengshi", "name": "小城市培育试点",
        "description": "小城市培育试点：三年行动计划，年度考核 优秀/良好/达标/警告。",
        "categories": [("jichu", "基础设施"), ("chanye", "产业发展"), ("gonggong", "公共服务"),
                       ("tizhi", "体制机制")],
        "roles": [("shidian", "试点镇")],
        "batches": [("pici1", "第一批", 2010), ("pici2", "第二批", 2014), ("pici3", "第三批", 2016)],
    },
    {
        "code": "tese", "name": "特色小镇",
        "description": "特色小镇：创建与培育，年度考核 优秀/良好/合格/警告/降格（培育另有淘汰）。",
        "categories": [("chanye", "特色产业"), ("wenhua", "文化"), ("lvyou", "旅游"), ("shequ", "社区功能")],
        "roles": [("chuangjian", "创建"), ("peiyu", "培育")],
        "batches": [],
    },
    {
        "code": "shifan", "name": "示范小城镇",
        "description": "贵州省示范小城镇：“8+X”设施，生活垃圾无害化处理与生活污水处理全覆盖。",
        "categories": [("jichu", "基础设施"), ("gonggong", "公共服务"), ("chanye", "产业发展"),
                       ("huanjing", "环境整治")],
        "roles": [("shifan", "示范镇")],
        "batches": [],
    },
    {
        "code": "tongchou", "name": "城乡区域统筹",
        "description": "城乡区域统筹（余杭）：“十个统筹”工作方案，项目化管理。",
        # The ten 统筹 in the order of 余杭's 2010 work plans (seeds/002): the headings of a county's 十个统筹 plan
        # (workplans) and the categories of its projects. workplans/migrations/0002 brings older databases here.
        "categories": [
            ("tizhi", "统筹管理体制机制"), ("jichu", "统筹基础设施"), ("jiuye", "统筹就业和社会保障"),
            ("shengtai", "统筹生态文明"), ("guihua", "统筹城乡规划"), ("ziyuan", "统筹资源要素配置"),
            ("chanye", "统筹产业发展"), ("shehuishiye", "统筹社会事业"), ("tudi", "统筹土地利用和管理"),
            ("jiti", "统筹农村新型集体经济"),
        ],
        "roles": [("shidian", "试点")],
        "batches": [],
    },
]
