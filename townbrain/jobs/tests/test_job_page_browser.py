"""The job page in a real browser (Chromium, Playwright): the progress bar moves while the page is open
and the result appears when the job ends, by htmx alone — no reload, no Content-Security-Policy violation.

The job (an import of 12,000 rows) is run by the worker's run-one function in a thread of this process
(the page is served by the live server meanwhile)."""

import threading
import time

import pytest

from townbrain.jobs import services
from townbrain.jobs.tests.test_jobs import csv_file
from townbrain.tests.test_browser import audit_rows, browser, log_in, open_page  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shipped_data")]

ROWS = 12_000


@pytest.fixture
def queued_job(settings, users, live_server):
    """A queued import job of guali's, made before the browser starts (no ORM under Playwright's loop)."""
    settings.JOB_THRESHOLD_ROWS = 100
    settings.JOB_STALE_SECONDS = 5
    return services.enqueue(users["guali"], "import", {"kind": "projects"}, title="big.csv", rows_total=ROWS,
                            file=("big.csv", csv_file(ROWS)))


def test_progress_bar_moves_and_the_result_appears(queued_job, browser, live_server, monkeypatch):  # noqa: F811
    # The job lasts several of the page's 2 s refreshes whatever the machine's speed (12,000 rows alone took
    # under 2 s once imports got faster): each progress report (every 500 rows) waits a tenth of a second.
    report = services.Reporter.__call__

    def slowly(self, stage, done, total):
        time.sleep(0.1)
        report(self, stage, done, total)

    monkeypatch.setattr(services.Reporter, "__call__", slowly)
    page = open_page(browser, live_server, "desktop")
    log_in(page, "guali")
    page.goto(f"{live_server.url}/jobs/{queued_job.pk}/")
    assert page.get_attribute("#job-status", "data-state") == "queued"
    assert page.get_attribute("#job-progress", "value") == "0"
    assert page.locator("#job-cancel").count() == 1

    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(state=services.run_job(queued_job.pk, queued_job.attempt)))
    worker.start()
    seen = set()
    try:
        for _ in range(240):  # the page swaps #job-status in every 2 s; look 4 times a second
            state = page.get_attribute("#job-status", "data-state")
            seen.add((state, page.get_attribute("#job-progress", "value")))
            if state == "done":
                break
            page.wait_for_timeout(250)
    finally:
        worker.join(timeout=120)
    assert outcome.get("state") == "done", outcome
    page.wait_for_selector("#job-status[data-state=done]", timeout=10_000)
    assert page.get_attribute("#job-progress", "value") == "100"
    assert page.locator("#job-batch").count() == 1  # the result: a link to the import's page
    assert page.locator("#job-cancel").count() == 0
    # the page followed the job without a reload: queued, then running, then done (progress as it came)
    assert ("queued", "0") in seen and any(s == "running" for s, _v in seen), seen
    page.context.close()
