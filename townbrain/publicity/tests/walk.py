"""Publicity records for the URL walk (townbrain/tests/test_url_walk.py): of 大洋镇 to aim at, of 瓜沥镇."""

from datetime import date

from townbrain.core.models import OrgUnit
from townbrain.publicity import services
from townbrain.publicity.models import Article, Honour, Quota


def seed(users) -> dict:
    other, own = OrgUnit.objects.get(code="330182107"), OrgUnit.objects.get(code="330109113")
    made = {}
    for town, user, name in ((other, users["dayang"], "大洋镇"), (own, users["guali"], "瓜沥镇")):
        article = services.create(user, Article, town=town, level="city", outlet=f"{name}日报",
                                  published_on=date(2020, 10, 20), title=f"{name}美丽城镇建设纪实")
        quota = services.create(user, Quota, town=town, period="2020Q4", articles=2, min_level="city")
        honour = services.create(user, Honour, unit=town, kind="person", recipient=f"{name}先进个人",
                                 title="美丽城镇建设先进个人", issuer=f"{name}表彰机关", awarded_on=date(2020, 12, 28))
        if town is other:
            made = {"article": article, "article_quota": quota, "honour": honour}
    return made
