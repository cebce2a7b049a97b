"""A large area's briefing and the demo load as background jobs (issue 17, item 1; docs/jobs.md).

Briefing: above TOWNBRAIN_JOB_THRESHOLD_TOWNS towns the cockpit's buttons POST and GET /api/briefings/ answers
202 {"job": url}; the job makes the file and keeps it with the job; the file is downloaded through the job
(page and API) by whoever sees the job and the area it is about — not by anybody else. Smaller areas answer
with the file, as before. Demo: `townbrain demo --job` or the button of /jobs/ (system administrators) queue
the load; the job loads the demo; a cancel leaves nothing of it.

Jobs are run in this process by the worker's own loop (worker.run_pending) or by services.run_job."""

import io
import threading
import time

import openpyxl
import pytest
from click.testing import CliRunner
from django.contrib.auth import get_user_model

from townbrain.core.models import AuditEntry, OrgUnit
from townbrain.jobs import services
from townbrain.jobs.models import Job, JobFile
from townbrain.jobs.worker import run_pending
from townbrain.projects.models import Project
from townbrain.reports import briefing
from townbrain.reports.tests.test_briefings import ledger  # noqa: F401 (fixture)

# Transactional: the worker's heartbeat thread (and a cancel from another thread) use connections of their own.
pytestmark = pytest.mark.usefixtures("shipped_data")

QUERY = {"org": "3301", "period": "202009", "programme": "meili"}


@pytest.fixture
def threshold(settings, ledger):  # noqa: F811
    settings.JOB_THRESHOLD_TOWNS = 2  # 杭州市 (four towns) is "large", 萧山区 (two) is not
    settings.JOB_STALE_SECONDS = 1
    return settings


def test_a_small_area_answers_with_the_file(threshold, api_for):
    response = api_for("hangzhou").get("/api/briefings/", {**QUERY, "org": "330109", "format": "xlsx"})
    assert response.status_code == 200 and response["Content-Type"] == briefing.FORMATS["xlsx"]
    assert not Job.objects.exists()


def test_a_large_area_answers_202_and_the_job_makes_the_file(threshold, api_for):
    api = api_for("hangzhou")
    response = api.get("/api/briefings/", {**QUERY, "format": "xlsx"})
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"job"}
    url = response.json()["job"]
    job = Job.objects.get()
    assert url.endswith(f"/api/jobs/{job.pk}/") and job.kind == "briefing" and job.owner.username == "hangzhou"
    assert job.params["org"] == "3301" and job.params["period"] == "202009" and job.params["format"] == "xlsx"
    queued = api.get(url).json()
    assert queued["state"] == "queued" and queued["download"] is None
    # asked again while it is queued: the same job, not a second one
    assert api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"] == url

    assert run_pending() == 1
    done = api.get(url).json()
    assert done["state"] == "done" and done["progress"] == 100
    assert done["result"]["format"] == "xlsx" and done["result"]["org"] == "3301"
    assert done["download"].endswith(f"/api/jobs/{job.pk}/file/")
    file = api.get(done["download"])
    assert file.status_code == 200 and file["Content-Type"] == briefing.FORMATS["xlsx"]
    assert "attachment" in file["Content-Disposition"] and "filename*=utf-8''" in file["Content-Disposition"]
    body = b"".join(file.streaming_content) if file.streaming else file.content
    assert len(body) == done["result"]["size"]
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert "杭州市" in str(book.worksheets[0]["A1"].value) + str(book.worksheets[0]["A2"].value) + \
        " ".join(str(c.value) for row in book.worksheets[0].iter_rows(max_row=6) for c in row)
    # the office administrator of the province sees the job and the area: may download it
    assert api_for("zhejiang").get(done["download"]).status_code == 200
    # another area's administrator, an editor below: neither the job nor its file
    for other in ("guizhou", "xiaoshan", "dayang"):
        assert api_for(other).get(url).status_code == 404, other
        assert api_for(other).get(done["download"]).status_code == 404, other
    # once done, asking again makes a new briefing (the figures may have changed)
    assert api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"] != url


def test_the_cockpit_queues_it_and_the_job_page_offers_the_file(threshold, client_for):
    client = client_for("hangzhou")
    cockpit = client.get("/cockpit/3301/?programme=meili&period=202009").content.decode()
    assert 'method="post" action="/cockpit/3301/briefing.pdf?programme=meili&amp;period=202009"' in cockpit
    small = client.get("/cockpit/330109/?programme=meili&period=202009").content.decode()
    assert 'href="/cockpit/330109/briefing.xlsx?programme=meili&amp;period=202009" download' in small
    assert client.get("/cockpit/330109/briefing.xlsx?programme=meili&period=202009")["Content-Type"] == \
        briefing.FORMATS["xlsx"]

    # a GET (a bookmark) of the large area's briefing explains and offers the button; nothing is queued
    page = client.get("/cockpit/3301/briefing.xlsx?programme=meili&period=202009")
    assert page.status_code == 200 and 'id="briefing-job-start"' in page.content.decode()
    assert not Job.objects.exists()
    response = client.post("/cockpit/3301/briefing.xlsx?programme=meili&period=202009")
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    assert client.post("/cockpit/3301/briefing.xlsx?programme=meili&period=202009").url == f"/jobs/{job.pk}/"
    assert Job.objects.count() == 1  # a double click: the same job
    assert 'id="job-download"' not in client.get(f"/jobs/{job.pk}/").content.decode()
    assert client.get(f"/jobs/{job.pk}/file/").status_code == 404  # not made yet

    run_pending()
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="/jobs/{job.pk}/file/"' in page and 'id="job-download"' in page
    download = client.get(f"/jobs/{job.pk}/file/")
    assert download.status_code == 200 and download["Content-Type"] == briefing.FORMATS["xlsx"]
    assert openpyxl.load_workbook(io.BytesIO(download.content)).worksheets
    assert JobFile.objects.filter(job=job).exists()  # kept: it is the job's product
    assert client_for("guizhou").get(f"/jobs/{job.pk}/file/").status_code == 404
    assert client_for("guizhou").get(f"/jobs/{job.pk}/").status_code == 404


def test_the_file_needs_the_area_too(threshold, api_for):
    """Seeing the job is not enough: the file is served only to who may see the briefing's area now."""
    api = api_for("hangzhou")
    url = api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"]
    run_pending()
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(params={**job.params, "org": "52"})  # as if it were about 贵州
    assert api.get(url).status_code == 200 and api.get(f"{url}file/").status_code == 404


def test_a_failed_briefing_says_why_and_keeps_nothing(threshold, api_for, monkeypatch):
    api = api_for("hangzhou")
    url = api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"]

    def broken(cockpit, fmt):
        raise RuntimeError("printer on fire")

    monkeypatch.setattr(briefing, "render", broken)
    run_pending()
    body = api.get(url).json()
    assert body["state"] == "failed" and body["error"] == "printer on fire" and body["download"] is None
    assert not JobFile.objects.exists()
    assert api.get(f"{url}file/").status_code == 404


def test_cancel_a_briefing(threshold, api_for, users, monkeypatch):
    api = api_for("hangzhou")
    url = api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"]
    job = Job.objects.get()
    # queued: cancelled at once
    assert api.post(f"{url}cancel/").json()["state"] == "cancelled"
    assert run_pending() == 1 and api.get(url).json()["state"] == "cancelled"
    # running: the cancel comes while the file is being written; the job stops before its commit, no file kept
    url = api.get("/api/briefings/", {**QUERY, "format": "xlsx"}).json()["job"]
    job = Job.objects.get(state="queued")
    real = briefing.render

    def render(cockpit, fmt):
        other = threading.Thread(target=lambda: services.request_cancel(users["hangzhou"], Job.objects.get(pk=job.pk)))
        other.start()
        other.join()
        time.sleep(0.3)
        return real(cockpit, fmt)

    monkeypatch.setattr(briefing, "render", render)
    assert services.run_job(job.pk, job.attempt) == "cancelled"
    body = api.get(url).json()
    assert body["state"] == "cancelled" and body["result"] is None and body["download"] is None
    assert not JobFile.objects.exists()
    assert AuditEntry.objects.filter(action="job.cancel", object_id=str(job.pk)).exists()


# --- the demo -----------------------------------------------------------------------------------------


def test_demo_job_from_the_cli_loads_the_demo(settings, users, api_for, client_for):
    from townbrain.cli import main

    settings.DEBUG = True
    result = CliRunner().invoke(main, ["demo", "--job", "--no-villages"])
    assert result.exit_code == 0, result.output
    job = Job.objects.get()
    assert f"job {job.pk}" in result.output and job.kind == "demo" and job.params["villages"] is False
    assert not Project.objects.exists()  # queued, not loaded
    admin = api_for("admin")
    assert admin.get(f"/api/jobs/{job.pk}/").json()["state"] == "queued"
    assert api_for("zhejiang").get(f"/api/jobs/{job.pk}/").status_code == 404  # a system job: administrators only

    assert run_pending() == 1
    done = admin.get(f"/api/jobs/{job.pk}/").json()
    assert done["state"] == "done" and done["progress"] == 100, done
    assert done["result"]["projects"] > 0 and done["result"]["assessment_runs"] > 0
    assert Project.objects.count() >= done["result"]["projects"]
    assert OrgUnit.objects.filter(code="330109113").exists()
    assert get_user_model().objects.filter(username="guizhou").exists()
    assert 'id="job-demo"' in client_for("admin").get(f"/jobs/{job.pk}/").content.decode()


def test_demo_button_for_system_administrators(settings, users, client_for):
    settings.DEBUG = True
    assert 'id="load-demo"' in client_for("admin").get("/jobs/").content.decode()
    assert 'id="load-demo"' not in client_for("zhejiang").get("/jobs/").content.decode()
    assert client_for("zhejiang").post("/jobs/demo/").status_code == 403
    response = client_for("admin").post("/jobs/demo/")
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/" and job.kind == "demo"
    assert job.params["villages"] is True
    settings.DEBUG = False  # its passwords are public: not in production
    assert 'id="load-demo"' not in client_for("admin").get("/jobs/").content.decode()
    assert client_for("admin").post("/jobs/demo/").status_code == 403


def test_demo_job_cancelled_leaves_nothing(settings, users, monkeypatch):
    """The cancel is heard when the demo reaches its projects: the org tree and users it loaded go too."""
    import townbrain.demo

    settings.DEBUG = True
    settings.JOB_STALE_SECONDS = 1  # heartbeat every 0.2 s
    job = services.enqueue(users["admin"], "demo", {"villages": False}, title="demo")
    user_count, unit_count = get_user_model().objects.count(), OrgUnit.objects.count()
    real = townbrain.demo.load_demo
    stages = []

    def load_demo(*, step, **kwargs):
        def watching(stage, index, count):
            stages.append(stage)
            if stage == "projects":
                other = threading.Thread(target=lambda: services.request_cancel(users["admin"], Job.objects.get()))
                other.start()
                other.join()
                time.sleep(0.6)  # the heartbeat brings the request
            step(stage, index, count)

        return real(step=watching, **kwargs)

    monkeypatch.setattr(townbrain.demo, "load_demo", load_demo)
    assert services.run_job(job.pk, job.attempt) == "cancelled"
    job.refresh_from_db()
    assert stages == ["org tree", "projects"] and job.state == "cancelled" and job.stage == "projects"
    assert get_user_model().objects.count() == user_count and OrgUnit.objects.count() == unit_count
    assert not Project.objects.exists()


def test_demo_job_refused_to_others(settings, users):
    settings.DEBUG = True
    job = services.enqueue(users["zhejiang"], "demo", {"villages": False}, title="demo")
    assert services.run_job(job.pk, job.attempt) == "failed"
    job.refresh_from_db()
    assert "system administrator" in job.error and not Project.objects.exists()
