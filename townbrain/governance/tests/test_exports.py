"""Exports: the queue (the list's filters apply) and the statistics page (its unit, period, platform, category)."""

import csv
import io

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from .. import services
from .conftest import DAYANG, GUALI

pytestmark = pytest.mark.django_db


def _csv(response):
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.fixture
def client_for(client_for):
    """Pages in English, so the exports' headers can be compared."""

    def login(name):
        client = client_for(name)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return login


def test_the_queue_exports_with_its_filters(client_for, report, people, urgent):
    report(description="菜场门口占道经营")
    report(cat=urgent, description="=污水直排")
    client = client_for("xiaoshan")
    rows = _csv(client.get("/events/?open=true&platform=zhifa&export=csv"))
    assert rows[0][:3] == ["No.", "Deadline", "Status"] and len(rows) == 3
    rows = _csv(client.get("/events/?open=true&category=zf-environment-sewage&export=csv"))
    assert len(rows) == 2 and rows[1][-2].startswith("'=")  # a formula someone typed is neutralised
    xlsx = client.get("/events/?open=true&export=xlsx")
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3
    # No phone number in the queue's export, masked or not.
    assert "1381234" not in xlsx.content.decode("latin-1") and "13812341234" not in "".join(
        str(c.value) for r in sheet.iter_rows() for c in r)


def test_statistics_page_and_its_exports(client_for, report, people, urgent):
    year = str(timezone.localdate().year)
    first = report()
    report(cat=urgent)
    services.take_step(people["guali"], first, "reject", "不属于受理范围")
    report(town=DAYANG, actor="dayang")
    client = client_for("xiaoshan")
    page = client.get(f"/events/statistics/?org=330109&period={year}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="stats-total"' in html and "瓜沥镇" in html
    rows = _csv(client.get(f"/events/statistics/?org=330109&period={year}&export=csv"))
    assert rows[0][:4] == ["Code", "Unit", "Reported (个)", "Accepted (个)"]
    total = dict(zip(rows[0], rows[1], strict=True))
    assert total["Code"] == "330109" and total["Reported (个)"] == "2"
    guali = next(r for r in rows[1:] if r[0] == GUALI)
    assert guali[2] == "2"
    # The filters narrow the figures; the export says which in its name.
    narrow = client.get(f"/events/statistics/?org=330109&period={year}&platform=zhifa&category=zf-city&export=xlsx")
    assert f"event-stats-330109-{year}-zhifa-zf-city-" in narrow["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(narrow.content)).active
    assert [c.value for c in sheet[2]][:3] == ["330109", "萧山区", 1]
    # Out of the area: 404; a bad period: the form says so; an unknown format: 404.
    assert client.get(f"/events/statistics/?org=330182&period={year}").status_code == 404
    assert client.get(f"/events/statistics/?org=330182&period={year}&export=csv").status_code == 404
    assert "YYYYMM" in client.get("/events/statistics/?org=330109&period=2020-1").content.decode()
    assert client.get(f"/events/statistics/?org=330109&period={year}&export=pdf").status_code == 404
    # Without parameters: the user's own unit and this year.
    assert "萧山区" in client.get("/events/statistics/").content.decode()
