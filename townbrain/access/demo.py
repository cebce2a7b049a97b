"""The demo: Zhejiang and Guizhou from the real division codes, one user per level.

Every write goes through the service functions, so the demo leaves the same audit trail a
real office would. Idempotent: a second run finds everything in place and writes nothing.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from townbrain.core import audit
from townbrain.core.divisions import load_divisions
from townbrain.core.models import OrgUnit
from townbrain.core.scope import SYSTEM
from townbrain.core.services import update_org_profile

from . import services
from .models import Membership

DEMO_PASSWORD = "townbrain-demo"
DEMO_PROVINCES = ["33", "52"]

# (user name, division code, role, full name: who it stands for, in Chinese like every name in the data)
DEMO_USERS = [
    ("admin", "33", "system_admin", "系统管理员"),
    ("zhejiang", "33", "office_admin", "浙江省美丽城镇办"),
    ("hangzhou", "3301", "office_admin", "杭州市美镇办"),
    ("xiaoshan", "330109", "editor", "萧山区美镇办"),
    ("jiande", "330182", "editor", "建德市美镇办"),
    ("guali", "330109113", "editor", "瓜沥镇人民政府"),
    ("dayang", "330182107", "editor", "大洋镇人民政府"),
    ("guizhou", "52", "office_admin", "贵州省小城镇办"),
]

# Profiles of the seed towns (types from the seed articles; figures rounded public ones).
DEMO_PROFILES = {
    "330109113": {"town_type": "industrial", "population": 186000, "area_km2": Decimal("128.40"),
                  "latitude": Decimal("30.183300"), "longitude": Decimal("120.455000"),
                  "notes": "小城市培育试点；2017年全省小城市培育试点工作现场推进会在瓜沥召开。"},
    "330182107": {"town_type": "agricultural", "population": 28000, "area_km2": Decimal("185.00"),
                  "latitude": Decimal("29.437000"), "longitude": Decimal("119.408000"),
                  "notes": "农业型美丽城镇样板创建；“乡村小脑”智慧平台。"},
}

# Centre points of a few more Hangzhou towns, so the cockpit map of 萧山区, 建德市, 淳安县 and 临安区
# shows points: APPROXIMATE positions of the town seats (WGS-84, to about a kilometre), for the demo
# only. An office enters its own from a survey or a map, naming the map's coordinate system.
DEMO_CENTRES = {
    "330109101": (Decimal("29.975"), Decimal("120.128")),  # 河上镇 (萧山区), approximate
    "330109105": (Decimal("30.005"), Decimal("120.248")),  # 临浦镇 (萧山区), approximate
    "330182104": (Decimal("29.548"), Decimal("119.481")),  # 梅城镇 (建德市), approximate
    "330127100": (Decimal("29.606"), Decimal("119.040")),  # 千岛湖镇 (淳安县), approximate
    "330112108": (Decimal("30.162"), Decimal("119.228")),  # 昌化镇 (临安区), approximate
}


def ensure_superuser(username: str, password: str, validate: bool = False):
    """The first administrator: a superuser with a system-admin membership at the top unit it can find."""
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    user = User(username=username, is_staff=True, is_superuser=True)
    if validate:
        validate_password(password, user)
    with transaction.atomic():
        user.set_password(password)
        user.save()
        audit.record(SYSTEM, "user.create", user, {}, audit.snapshot(user, services.USER_FIELDS))
    return user, True


def load_demo(villages: bool = True, progress=None) -> dict:
    counts = load_divisions(SYSTEM, DEMO_PROVINCES, villages=villages, progress=progress)
    created = 0
    User = get_user_model()
    for username, code, role, label in DEMO_USERS:
        unit = OrgUnit.objects.get(code=code)
        user = User.objects.filter(username=username).first()
        if user is None:
            user = services.create_user(SYSTEM, username, DEMO_PASSWORD, unit, role, first_name=label)
            created += 1
        elif not Membership.objects.filter(user=user, org_unit=unit, role=role).exists():
            services.grant_membership(SYSTEM, user, unit, role)
    for code, profile in DEMO_PROFILES.items():
        update_org_profile(SYSTEM, OrgUnit.objects.get(code=code), **profile)
    for code, (latitude, longitude) in DEMO_CENTRES.items():
        update_org_profile(SYSTEM, OrgUnit.objects.get(code=code), latitude=latitude, longitude=longitude)
    return {**counts, "users_created": created}
