"""Deals for the URL walk (townbrain/tests/test_url_walk.py): one of 大洋镇 to aim at, one of 瓜沥镇."""

from datetime import date
from decimal import Decimal

from townbrain.core.models import OrgUnit
from townbrain.investment import services


def seed(users) -> dict:
    other, own = OrgUnit.objects.get(code="330182107"), OrgUnit.objects.get(code="330109113")
    deal = services.create_deal(users["dayang"], town=other, name="大洋镇农旅综合体", investor="大洋镇投资方",
                                industry="农旅融合", signed_amount=Decimal("8000"), signed_on=date(2020, 5, 1),
                                event="大洋镇签约会")
    receipt = services.add_receipt(users["dayang"], deal, date=date(2020, 6, 1), amount=Decimal("1000"))
    services.create_deal(users["guali"], town=own, name="瓜沥镇智能制造园", investor="瓜沥投资方", industry="智能制造",
                         signed_amount=Decimal("20000"), signed_on=date(2020, 5, 2), event="瓜沥镇签约会")
    return {"deal": deal, "deal_receipt": receipt}
