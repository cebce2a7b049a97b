"""The cockpit in a real browser (Debian's Chromium through Playwright): what each role sees first.

Each demo role logs in through the login form and lands on the cockpit of their area with drawn
charts (canvases with pixels on them) and the real figures; a county drills down by clicking a
bar of the ranking and a row of the table, down to a town and its projects; the language switch
works; nothing is wider than the window at 1366×768 or at 390×844. Screenshots go to
$TOWNBRAIN_SCREENSHOTS (or a tmp dir): look at them.
"""

import subprocess
from datetime import date
from decimal import Decimal

import pytest

from townbrain.core.models import OrgUnit
from townbrain.core.numbers import percent
from townbrain.core.scope import SYSTEM
from townbrain.programmes.models import Programme
from townbrain.projects import rollups, services
from townbrain.projects.tests.test_projects import make_project
from townbrain.tests.test_browser import assert_fits, browser, log_in, open_page, shots  # noqa: F401

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}
OWN = "330109113"

# Canvas pixels that are not transparent: a chart that drew something.
PAINTED = """(sel) => {
  const canvas = document.querySelector(sel + ' canvas');
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture
def audit_rows(shipped_data, users, live_server):
    """The ledger the pages show (named audit_rows: the shared `browser` fixture waits for it)."""
    gongneng = Programme.objects.get(code="meili").categories.get(code="gongneng")
    for town, n in ((OWN, 4), ("330109001", 2), ("330182107", 3)):
        for i in range(n):
            p = make_project(town, name=f"{town[-3:]}号项目{i}", status="started", category=gongneng,
                             planned_start=date(2020, 2 + i, 1), actual_start=date(2020, 2 + i, 5))
            for month in range(2 + i, 10):
                services.report_progress(SYSTEM, p, f"2020{month:02d}", cumulative_investment=Decimal(30 * month),
                                         progress_percent=Decimal(8 * month), status="started")
    make_project(OWN, name="瓜沥镇未开工项目", planned_start=date(2020, 6, 1))


@pytest.fixture
def expected(users, audit_rows):
    """Each user's 开工率 for September 2020, as the roll-ups have it (read before Chromium starts:
    no ORM call may run while Playwright's loop does)."""
    meili = Programme.objects.get(code="meili")
    return {name: percent(rollups.compute(users[name], OrgUnit.objects.get(code=code), "202009", meili)["start_rate"])
            for name, code in (("admin", "33"), ("zhejiang", "33"), ("hangzhou", "3301"), ("xiaoshan", "330109"),
                               ("guali", OWN))}


def page_at(browser, live_server, size):  # noqa: F811
    page = open_page(browser, live_server, "desktop")
    page.set_viewport_size(dict(zip(("width", "height"), SIZES[size], strict=True)))
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("name, code", [("admin", "33"), ("zhejiang", "33"), ("hangzhou", "3301"),
                                        ("xiaoshan", "330109"), ("guali", OWN)])
def test_each_role_lands_on_a_cockpit_with_drawn_charts(expected, browser, live_server, shots, name, code, size):  # noqa: F811
    page = page_at(browser, live_server, size)
    log_in(page, name)
    assert page.url.rstrip("/").endswith(f"/cockpit/{code}"), page.url
    page.wait_for_selector("#chart-projects-trend canvas")
    page.wait_for_timeout(300)
    assert page.evaluate(PAINTED, "#chart-projects-trend") > 500, "the trend chart drew nothing"
    # The start rate shown is the live roll-up's.
    shown = page.inner_text('[data-card="projects.start_rate"] .tb-kpi-value')
    assert shown.strip() == expected[name]
    assert_fits(page, shots, f"cockpit-{name}-{size}")


def test_drill_down_by_clicking_a_bar_and_a_row(browser, live_server, shots):  # noqa: F811
    page = page_at(browser, live_server, "desktop")
    log_in(page, "hangzhou")
    page.wait_for_selector("#chart-projects-ranking canvas")
    page.wait_for_timeout(500)
    # Click the first bar of the ranking (a county) where ECharts drew it.
    page.locator("#chart-projects-ranking").scroll_into_view_if_needed()
    box = page.locator("#chart-projects-ranking").bounding_box()
    x, y = page.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.querySelector('#chart-projects-ranking'));
      const value = chart.getOption().series[0].data[0];
      return chart.convertToPixel({seriesIndex: 0}, [value / 2, 0]);
    }""")
    with page.expect_navigation():
        page.mouse.click(box["x"] + x, box["y"] + y)
    assert "/cockpit/330109" in page.url or "/cockpit/330182" in page.url, page.url
    # From 萧山区, a row of the table leads to 瓜沥镇, whose projects link to their pages.
    page.goto(f"{live_server.url}/cockpit/330109/?programme=meili&period=202009")
    with page.expect_navigation():
        page.click(f'#table-projects-children tr[data-href*="/cockpit/{OWN}/"] td:nth-child(2)')
    assert f"/cockpit/{OWN}/" in page.url
    page.wait_for_selector("#table-projects-projects")
    assert page.locator("#table-projects-projects tbody tr").count() == 5
    with page.expect_navigation():
        page.click("#table-projects-projects tbody tr:first-child td:first-child a")
    assert "/projects/" in page.url
    assert_fits(page, shots, "drill-project-page")


def test_language_switch_and_big_screen(browser, live_server, shots):  # noqa: F811
    page = page_at(browser, live_server, "desktop")
    log_in(page, "xiaoshan")
    with page.expect_navigation():
        page.select_option("#language-form select", "en")
    assert "Cockpit" in page.inner_text("h1.page-title")
    with page.expect_navigation():
        page.select_option("#language-form select", "zh-hans")
    assert "驾驶舱" in page.inner_text("h1.page-title")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.click("#big-screen-link")
    page.wait_for_selector(".tb-slide-on")
    page.wait_for_timeout(500)
    assert page.evaluate("[document.documentElement.scrollHeight <= innerHeight,"
                         " document.documentElement.scrollWidth <= innerWidth]") == [True, True]
    assert page.locator(".tb-slide-on").count() == 1
    page.screenshot(path=str(shots / "big-screen.png"))


def test_a_downloaded_pdf_briefing_holds_the_cockpits_figures(expected, browser, live_server, shots, tmp_path):  # noqa: F811
    page = page_at(browser, live_server, "desktop")
    log_in(page, "hangzhou")
    shown = page.inner_text('[data-card="projects.start_rate"] .tb-kpi-value').strip()
    assert shown == expected["hangzhou"]
    with page.expect_download() as download:
        page.click("#briefing-links a[href*='briefing.pdf']")
    pdf = tmp_path / "briefing.pdf"
    download.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "杭州市" in text and shown in text
    assert "工作简报" in text or "briefing" in text  # the title, in the page's language


def test_the_map_colours_the_units_below(expected, browser, live_server, shots):  # noqa: F811
    page = page_at(browser, live_server, "desktop")
    log_in(page, "hangzhou")
    page.wait_for_selector("[data-tb-map][data-state=drawn]")
    assert int(page.get_attribute("[data-tb-map]", "data-regions")) >= 2
    # 萧山区 and 建德市 (the regions are named by code) carry a value each; a legend maps values to colours.
    option = page.evaluate("""() => {
      const chart = echarts.getInstanceByDom(document.querySelector('[data-tb-map]'));
      const o = chart.getOption();
      return {visualMap: o.visualMap.length, values: o.series[0].data.filter(d => d.value != null).map(d => d.name)};
    }""")
    assert option["visualMap"] >= 1 and {"330109", "330182"} <= set(option["values"]), option
    page.locator("[data-tb-map]").scroll_into_view_if_needed()
    assert page.evaluate(PAINTED, "[data-tb-map]") > 1000
    assert "审图号" in page.inner_text(".tb-map-note")
    assert_fits(page, shots, "cockpit-map-hangzhou")
