"""Numbers in tables carry thousands separators in both languages, and keep their units."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from townbrain.core.models import OrgUnit
from townbrain.core.services import update_org_profile
from townbrain.core.templatetags.tb import cell


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_cell_groups_digits(language):
    with translation.override(language):
        assert cell(181234) == "181,234"
        assert cell(1234567) == "1,234,567"
        assert cell(999) == "999"
        assert cell(Decimal("1234.50")) == "1,234.50"
        assert cell(Decimal("-12345.6")) == "-12,345.6"
        assert cell(181234, "人") == "181,234 人"
        assert cell(Decimal("128.40"), "km²") == "128.40 km²"
        assert cell(None, "万元") == "—"
        assert cell("2024") == "2024"  # text stays as written


def test_org_unit_page_and_table(client_for, users):
    update_org_profile(users["xiaoshan"], OrgUnit.objects.get(code="330109113"), population=181234,
                       area_km2=Decimal("1128.40"))
    html = client_for("xiaoshan").get("/org/330109113/").content.decode()
    assert "181,234 人" in html
    assert "1,128.40 km²" in html
    table = client_for("xiaoshan").get("/org/330109/").content.decode()
    assert "181,234" in table and "181234" not in table


def test_numbers_outside_cell_are_not_grouped(client_for, users):
    """Ids in form fields must stay plain: USE_THOUSAND_SEPARATOR is off, only `cell` groups."""
    with translation.override("en"):
        assert Template("{{ n }}").render(Context({"n": 1234567})) == "1234567"
