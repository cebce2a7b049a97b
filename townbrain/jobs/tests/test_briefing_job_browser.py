"""The page of a province-size briefing's job in Chromium (Playwright), at 1366×768 and 390×844: the result
offers the file (a real PDF download), the page fits the window, and no Content-Security-Policy violation.
Screenshots go to $TOWNBRAIN_SCREENSHOTS (or a tmp dir) for a human to look at."""

import pytest
from django.utils import translation

from townbrain.jobs import services
from townbrain.jobs.kinds import briefing_job
from townbrain.reports import briefing
from townbrain.reports.tests.test_briefings import ledger  # noqa: F401 (fixture)
from townbrain.tests.test_browser import assert_fits, audit_rows, browser, log_in, shots  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shipped_data")]

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


@pytest.fixture
def done_briefing(settings, users, ledger, live_server):  # noqa: F811
    """杭州市's PDF briefing made by a job, before the browser starts (no ORM under Playwright's loop)."""
    settings.JOB_THRESHOLD_TOWNS = 2
    with translation.override("zh-hans"):  # as asked from a page in Chinese: the job writes in that language
        cockpit = briefing.cockpit_for(users["hangzhou"], "3301", "meili", "202009")
        job = briefing_job(users["hangzhou"], cockpit, "pdf")
    assert services.run_job(job.pk, job.attempt) == "done"
    job.refresh_from_db()
    return job


@pytest.mark.parametrize("size", list(SIZES))
def test_briefing_job_page(done_briefing, browser, live_server, shots, size):  # noqa: F811
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.live_server = live_server.url
    log_in(page, "hangzhou")
    page.goto(f"{live_server.url}/jobs/{done_briefing.pk}/")
    assert page.get_attribute("#job-status", "data-state") == "done"
    assert page.get_attribute("#job-progress", "value") == "100"
    link = page.locator("#job-download")
    assert link.is_visible()
    assert page.locator("#job-file-name").inner_text() == done_briefing.result["file"]
    assert_fits(page, shots, f"job-briefing-{size}")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == done_briefing.result["file"] and download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as f:
        assert f.read(5) == b"%PDF-"
    context.close()


@pytest.fixture
def large_area(settings, users, ledger, live_server):  # noqa: F811
    settings.JOB_THRESHOLD_TOWNS = 2  # 杭州市's four towns are "many"


def test_cockpit_buttons_queue_the_briefing(large_area, browser, live_server, shots):  # noqa: F811
    """In a real browser the cockpit's PDF button (a form, CSRF and all) leads to the new job's page."""
    width, height = SIZES["desktop"]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.live_server = live_server.url
    log_in(page, "hangzhou")
    page.goto(f"{live_server.url}/cockpit/3301/?programme=meili&period=202009")
    buttons = page.locator("#briefing-links form button")
    assert buttons.count() == 3 and page.locator("#briefing-links a[download]").count() == 0
    assert_fits(page, shots, "cockpit-briefing-as-job-desktop")
    with page.expect_navigation():
        buttons.first.click()
    assert "/jobs/" in page.url
    assert page.get_attribute("#job-status", "data-state") == "queued"
    assert page.locator("h1.page-title").inner_text().endswith("PDF")
    context.close()
