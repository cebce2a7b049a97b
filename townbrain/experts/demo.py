"""Demo 一库三师 at the scale of the seed: Hangzhou's expert activities in 2020.

Seed check (DOMAIN §5, Hangzhou, 2020 to date): 278 activities, 1,324 person-times (人次) =
168 chief designer + 689 resident planner + 467 development adviser, 800+ problems solved.
An expert pool of 120 (20 chief designers, 60 resident planners, 40 development advisers) is
assigned to the Hangzhou towns enrolled in 美丽城镇 (by projects/demo.py; every Hangzhou town when
none is enrolled). Deterministic (seeded) and idempotent: nothing is written when Hangzhou
already has expert activities. Every row goes through the services, so the audit log has them.
"""

import random
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db.models import F

from townbrain.access.demo import DEMO_PASSWORD
from townbrain.core.models import Level, OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Enrolment

from . import services
from .models import Expert, ExpertActivity, ExpertAssignment, ExpertProblem

CITY = "3301"
POOL = {"chief_designer": 20, "resident_planner": 60, "development_adviser": 40}
ACTIVITIES = 278
PERSON_TIMES = {"chief_designer": 168, "resident_planner": 689, "development_adviser": 467}
PROBLEMS_SOLVED = 826
PROBLEMS_UNSOLVED = 131  # found = solved + unsolved
CAP = {"chief_designer": 3, "resident_planner": 6, "development_adviser": 5}  # person-times of one kind per activity
COUNT_FIELD = {"chief_designer": "chief_designer_count", "resident_planner": "resident_planner_count",
               "development_adviser": "adviser_count"}
TYPES = ["site_visit"] * 12 + ["review"] * 4 + ["training"] * 3 + ["other"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕丁沈"
GIVEN = ["建国", "晓燕", "明", "伟", "海峰", "丽华", "志强", "静", "文斌", "雪梅", "国庆", "慧敏", "俊杰", "红梅",
         "立新", "晓东", "春燕", "卫东", "佳怡", "宏伟", "雅琴", "振华", "秀英", "浩然", "嘉豪", "思远", "一鸣",
         "亚楠", "永刚", "凤英", "泽宇", "梦婷", "少华", "玉兰", "天翔", "子涵", "国栋", "晨曦", "德明", "婉清"]
EMPLOYERS = {
    "chief_designer": ["浙江大学建筑设计研究院", "浙江省城乡规划设计研究院", "中国美术学院风景建筑设计研究总院",
                       "同济大学建筑设计研究院", "杭州市城市规划设计研究院"],
    "resident_planner": ["浙江省城乡规划设计研究院", "杭州市城市规划设计研究院", "浙江省建筑设计研究院",
                         "浙江工业大学工程设计集团", "华东勘测设计研究院"],
    "development_adviser": ["浙江省发展规划研究院", "浙江大学中国农村发展研究院", "浙江农林大学",
                            "浙江工商大学", "杭州市社会科学院"],
}


def _names(rng, count: int) -> list[str]:
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if name not in names:
            names.append(name)
    return names


def _spread(rng, total: int, slots: int, cap: int, base: int = 0) -> list[int]:
    """`total` split over `slots` (each at least `base`, at most `cap`), at random but exactly."""
    counts = [base] * slots
    for _i in range(total - base * slots):
        while True:
            i = rng.randrange(slots)
            if counts[i] < cap:
                counts[i] += 1
                break
    return counts


def _towns() -> list[OrgUnit]:
    enrolled = (Enrolment.objects.filter(programme__code="meili", town__code__startswith=CITY)
                .values_list("town_id", flat=True))
    towns = OrgUnit.objects.filter(code__in=enrolled) if enrolled.exists() else \
        OrgUnit.objects.filter(code__startswith=CITY, level=Level.TOWN)
    return list(towns.order_by("code"))


def load(progress=None) -> dict:
    summary = _load_activities(progress)
    summary["expert_problems"] = load_problems()
    summary["expert_logins"] = load_logins()
    return summary


# Experts who log in (experts as users), with the other demo users' password: the expert of that kind
# assigned to the town (user name, town, kind, the kind in Chinese for the printed list of logins).
DEMO_EXPERT_LOGINS = [
    ("guali_planner", "330109113", "resident_planner", "驻镇规划师"),
    ("dayang_adviser", "330182107", "development_adviser", "发展师"),
]


def _demo_assignment(town: str, kind: str) -> ExpertAssignment | None:
    return (ExpertAssignment.objects.filter(town_id=town, role=kind).select_related("expert", "expert__user")
            .order_by("pk").first())


def load_logins() -> int:
    """A login for each expert of DEMO_EXPERT_LOGINS, through the service (audited). Idempotent."""
    created = 0
    for username, town, kind, _label in DEMO_EXPERT_LOGINS:
        assignment = _demo_assignment(town, kind)
        if assignment is None or assignment.expert.user_id or get_user_model().objects.filter(
                username=username).exists():
            continue
        services.create_login(SYSTEM, assignment.expert, username, DEMO_PASSWORD)
        created += 1
    return created


def login_rows() -> list[tuple[str, str, str, str]]:
    """(user name, town, role, who) of the demo's expert logins, as the demo prints its logins."""
    rows = []
    for username, town, kind, label in DEMO_EXPERT_LOGINS:
        assignment = _demo_assignment(town, kind)
        if assignment is not None and assignment.expert.user is not None and assignment.expert.user.username == username:
            rows.append((username, town, "expert", f"{assignment.expert.name}（{label}）"))
    return rows


# Problems on the register of a few demo activities (问题清单): one activity per town, the latest whose
# found/solved figures allow a short list; the problems reproduce those figures, so the totals stay.
PROBLEM_TEXTS = ["污水管网雨污混接，需排查整改", "沿街立面店招风格不统一", "老旧小区停车位不足", "农贸市场排水沟堵塞",
                 "公厕无障碍设施缺失", "河道沿岸垃圾清运不及时", "历史建筑保护标识缺失", "游步道照明不足",
                 "产业园区标识系统不完善", "集镇入口节点景观杂乱", "文化礼堂使用率低", "供水管网老化漏损"]
PROBLEM_OWNERS = ["镇建设办", "镇综合执法队", "镇农业农村办", "镇文化站", "镇经济发展办"]
DEMO_PROBLEM_TOWNS = 4


def load_problems() -> int:
    """A few problems of the demo activities, through the services. Idempotent: nothing is written when
    Hangzhou already has problems on its register."""
    if ExpertProblem.objects.filter(town__code__startswith=CITY).exists():
        return 0
    created, towns = 0, set()
    candidates = (ExpertActivity.objects.filter(town__code__startswith=CITY, problems_found__gte=2,
                                                problems_found__lte=4, problems_found__gt=F("problems_solved"))
                  .select_related("town").order_by("-date", "town_id", "pk"))
    texts = iter(PROBLEM_TEXTS)
    for activity in candidates:
        if activity.town_id in towns:
            continue
        towns.add(activity.town_id)
        solved, unsolved = activity.problems_solved, activity.problems_found - activity.problems_solved
        plan = ["solve"] * solved + [None, "start", "dismiss"][:unsolved] + [None] * max(0, unsolved - 3)
        for i, step in enumerate(plan):
            text = next(texts, None) or f"{activity.town.name}问题{created + 1}"
            problem = services.create_problem(
                SYSTEM, activity, text, owner=PROBLEM_OWNERS[(created + i) % len(PROBLEM_OWNERS)],
                due_date=activity.date + timedelta(days=30 + 15 * i))
            if step:
                services.step_problem(SYSTEM, problem, step,
                                      reason="属县级部门职责，已移交县住建局" if step == "dismiss" else "")
            created += 1
        if len(towns) == DEMO_PROBLEM_TOWNS:
            break
    return created


def _load_activities(progress=None) -> dict:
    if ExpertActivity.objects.filter(town__code__startswith=CITY).exists():
        return {"experts": 0, "expert_assignments": 0, "expert_activities": 0}
    towns = _towns()
    if not towns:
        return {"experts": 0, "expert_assignments": 0, "expert_activities": 0}
    rng = random.Random(20201)
    units = {u.code: u for u in OrgUnit.objects.filter(code__in={CITY, *(t.code[:6] for t in towns)})}
    names = iter(_names(rng, sum(POOL.values())))

    # The pool: chief designers and advisers kept by the city office, resident planners by their county.
    pool: dict[str, list[Expert]] = {}
    created = 0
    for kind, size in POOL.items():
        pool[kind] = []
        for i in range(size):
            name = next(names)
            expert = Expert.objects.filter(name=name, kind=kind).first()
            if expert is None:
                county = towns[i % len(towns)].code[:6]
                home = units.get(county, units[CITY]) if kind == "resident_planner" else units[CITY]
                expert = services.create_expert(SYSTEM, name=name, kind=kind, employer=rng.choice(EMPLOYERS[kind]),
                                                phone=f"13{rng.randrange(0, 10 ** 9):09d}", home=home)
                created += 1
            pool[kind].append(expert)

    # One expert of each kind per town (a resident planner serves one or a few towns).
    assigned: dict[tuple[str, str], Expert] = {}
    assignments = 0
    for i, town in enumerate(towns):
        for kind, experts in pool.items():
            expert = experts[i % len(experts)]
            assigned[(town.code, kind)] = expert
            if not ExpertAssignment.objects.filter(expert=expert, town=town, role=kind).exists():
                services.assign_expert(SYSTEM, expert, town, role=kind, since=date(2020, 1, 1))
                assignments += 1

    counts = {kind: _spread(rng, total, ACTIVITIES, CAP[kind], base=1 if kind == "resident_planner" else 0)
              for kind, total in PERSON_TIMES.items()}
    solved = _spread(rng, PROBLEMS_SOLVED, ACTIVITIES, 8)
    unsolved = _spread(rng, PROBLEMS_UNSOLVED, ACTIVITIES, 3)
    seen = set()
    for i in range(ACTIVITIES):
        while True:
            town = rng.choice(towns)
            day = date(2020, 1, 6) + timedelta(days=rng.randrange(0, 290))
            kind_of_activity = rng.choice(TYPES)
            people = []
            for kind in PERSON_TIMES:
                own = assigned[(town.code, kind)]
                others = [e for e in pool[kind] if e.pk != own.pk]
                people += [own, *rng.sample(others, counts[kind][i] - 1)] if counts[kind][i] else []
            key = (town.code, day, kind_of_activity, "、".join(e.name for e in people))
            if key not in seen:
                seen.add(key)
                break
        services.create_activity(
            SYSTEM, date=day, town=town, activity_type=kind_of_activity,
            **{COUNT_FIELD[kind]: counts[kind][i] for kind in PERSON_TIMES},
            problems_found=solved[i] + unsolved[i], problems_solved=solved[i], expert_names=key[3])
        if progress and (i % 50 == 0 or i == ACTIVITIES - 1):
            progress("expert activities", i + 1, ACTIVITIES)
    return {"experts": created, "expert_assignments": assignments, "expert_activities": ACTIVITIES}
