"""The facilities layer drawn on the cockpit map in a real browser (Chromium through Playwright)."""

from datetime import date

import pytest

from townbrain.core.scope import SYSTEM
from townbrain.projects.tests.test_projects import make_project
from townbrain.sensing import services
from townbrain.tests.test_browser import browser, log_in, open_page  # noqa: F401

pytestmark = pytest.mark.browser


@pytest.fixture
def audit_rows(shipped_data, users, live_server):
    """The facilities, and a project (the cockpit draws its map where there are projects); named
    audit_rows: the shared `browser` fixture waits for it."""
    make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    services.create_facility(SYSTEM, "330109113", code="gl-wsc", name="瓜沥镇污水处理厂", kind="sewage-plant",
                             status="operating", lat="30.183300", lng="120.455000")
    services.create_facility(SYSTEM, "330109113", code="gl-ljz", name="瓜沥镇垃圾中转站", kind="garbage-treatment",
                             status="out_of_service", lat="30.190000", lng="120.460000")


def test_facilities_are_drawn_coloured_by_status(audit_rows, browser, live_server):  # noqa: F811
    page = open_page(browser, live_server, "desktop")
    log_in(page, "guali")
    page.goto(f"{live_server.url}/cockpit/330109113/")
    page.wait_for_selector("[data-tb-map][data-state=drawn]")
    assert page.get_attribute("[data-tb-map]", "data-facilities") == "2"
    colours = page.evaluate("""() => {
      const o = echarts.getInstanceByDom(document.querySelector('[data-tb-map]')).getOption();
      return o.series[4].data.map(d => [d.name, d.itemStyle.color]);
    }""")
    assert sorted(colours) == [["瓜沥镇垃圾中转站", "#d63939"], ["瓜沥镇污水处理厂", "#2fb344"]]
