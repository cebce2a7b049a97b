"""Background jobs in-process (issue 17, item 1): the 202 path of POST /api/imports/, the job's API and
pages, cancel, a dead worker and retry, scoping. Jobs are run by the worker's own loop in this process
(worker.run_pending: django-tasks-db's worker in batch mode) or by services.run_job.

Transactional: the worker's heartbeat thread talks to the database through a connection of its own
(PostgreSQL), which must see the job's row."""

import threading
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from townbrain.core.models import AuditEntry
from townbrain.exchange import pipeline
from townbrain.exchange.models import ImportBatch
from townbrain.jobs import services
from townbrain.jobs.models import Job, JobFile
from townbrain.jobs.worker import run_pending
from townbrain.projects.models import Project

pytestmark = pytest.mark.usefixtures("shipped_data")

HEADER = "项目编号,项目名称,乡镇代码,所属计划,类别,总投资(万元),年度计划投资(万元),计划开工日期,状态"


def csv_file(rows: int, prefix="J", town="330109113") -> bytes:
    lines = [HEADER] + [f"{prefix}{i:05d},项目{i},{town},meili,功能便民环境美,100,50,2020-03-01,谋划"
                        for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def upload(api, data, name="p.csv", **fields):
    return api.post("/api/imports/", {"file": SimpleUploadedFile(name, data), "kind": "projects", **fields},
                    format="multipart")


@pytest.fixture
def small_threshold(settings):
    settings.JOB_THRESHOLD_ROWS = 20
    settings.JOB_STALE_SECONDS = 1  # heartbeat every 0.2 s
    return settings


def test_small_file_answers_at_once(small_threshold, tree, users, api_for):
    resp = upload(api_for("guali"), csv_file(5))
    assert resp.status_code == 201 and resp.json()["counts"]["created"] == 5
    assert not Job.objects.exists()


def test_large_file_is_a_job_with_the_same_summary(small_threshold, tree, users, api_for):
    api = api_for("guali")
    resp = upload(api, csv_file(60))
    assert resp.status_code == 202 and set(resp.json()) == {"job"}
    url = resp.json()["job"]
    assert url.endswith(f"/api/jobs/{Job.objects.get().pk}/")
    queued = api.get(url).json()
    assert queued["state"] == "queued" and queued["progress"] == 0 and queued["result"] is None
    assert not Project.objects.exists()

    run_pending()
    done = api.get(url).json()
    assert done["state"] == "done" and done["progress"] == 100 and done["rows_done"] == done["rows_total"] == 60
    summary = done["result"]
    assert done["summary"] == summary
    assert summary["status"] == "applied" and summary["counts"] == {"created": 60, "updated": 0, "unchanged": 0,
                                                                    "deleted": 0}
    batch = ImportBatch.objects.get()
    assert summary["id"] == batch.pk and batch.actor == users["guali"] and Project.objects.count() == 60
    # the same summary the synchronous answer gives: the same file again, small enough, answers at once
    small_threshold.JOB_THRESHOLD_ROWS = 1000
    again = upload(api, csv_file(60)).json()
    assert set(again) == set(summary)
    assert not JobFile.objects.exists()  # the file is dropped once the job is done
    assert AuditEntry.objects.filter(action="job.enqueue", object_id=str(done["id"])).exists()


def test_dry_run_and_errors_through_a_job(small_threshold, tree, users, api_for):
    api = api_for("guali")
    url = upload(api, csv_file(30), dry_run="true").json()["job"]
    bad = csv_file(30).replace(b"J00007,", b"J00007,,")  # a shifted row: errors, nothing is written
    bad_url = upload(api, bad).json()["job"]
    run_pending()
    dry = api.get(url).json()
    assert dry["state"] == "done" and dry["result"]["status"] == "dry_run"
    assert dry["result"]["counts"]["created"] == 30
    failed = api.get(bad_url).json()
    assert failed["state"] == "done" and failed["result"]["status"] == "failed" and failed["result"]["errors"]
    assert not Project.objects.exists() and not ImportBatch.objects.exists()


def test_cancel_a_queued_job(small_threshold, tree, users, api_for):
    api = api_for("guali")
    url = upload(api, csv_file(40)).json()["job"]
    job = Job.objects.get()
    assert api_for("dayang").post(f"/api/jobs/{job.pk}/cancel/").status_code == 404  # not theirs, not their area
    cancelled = api.post(f"/api/jobs/{job.pk}/cancel/").json()
    assert cancelled["state"] == "cancelled"
    run_pending()
    assert api.get(url).json()["state"] == "cancelled"
    assert not Project.objects.exists() and not JobFile.objects.exists()
    assert api.post(f"/api/jobs/{job.pk}/cancel/").status_code == 400  # already finished


def test_cancel_while_running_rolls_everything_back(small_threshold, tree, users, api_for, monkeypatch):
    """The cancel comes from another thread (as from a web request) while the rows are being applied;
    the job stops at its next progress report and nothing it wrote is kept."""
    api = api_for("guali")
    url = upload(api, csv_file(1600)).json()["job"]
    job = Job.objects.get()
    real = pipeline.run_import
    seen = []

    def run_import(*args, progress, **kwargs):
        def watching(stage, done, total):
            seen.append((stage, done))
            if stage == "applying" and done == 500:
                other = threading.Thread(target=lambda: services.request_cancel(users["guali"], Job.objects.get()))
                other.start()
                other.join()
                for _ in range(100):  # the next heartbeats bring the request: the next report then stops the work
                    progress(stage, done, total)
                    time.sleep(0.1)
            progress(stage, done, total)

        return real(*args, progress=watching, **kwargs)

    monkeypatch.setattr(pipeline, "run_import", run_import)
    assert services.run_job(job.pk, job.attempt) == "cancelled"
    body = api.get(url).json()
    assert body["state"] == "cancelled" and body["result"] is None
    assert seen[-1] == ("applying", 500)  # it stopped at the report after the request
    assert not Project.objects.exists() and not ImportBatch.objects.exists()
    assert AuditEntry.objects.filter(action="job.cancel").exists()
    assert not AuditEntry.objects.filter(action="import.apply").exists()


def test_dead_worker_is_failed_and_can_be_retried(small_threshold, tree, users, api_for):
    api = api_for("guali")
    api.credentials(HTTP_ACCEPT_LANGUAGE="en")  # the reason is written in the reader's language
    url = upload(api, csv_file(25)).json()["job"]
    job = Job.objects.get()
    # a worker took the job and then vanished (SIGKILL: see test_worker_process.py for the real thing)
    Job.objects.filter(pk=job.pk).update(state="running", started=timezone.now() - timedelta(seconds=10),
                                         heartbeat=timezone.now() - timedelta(seconds=10))
    dead = api.get(url).json()
    assert dead["state"] == "failed" and "stopped" in dead["error"]
    page = api_for("guali").get(f"/api/jobs/{job.pk}/")
    assert page.json()["state"] == "failed"
    retried = api.post(f"/api/jobs/{job.pk}/retry/").json()
    assert retried["state"] == "queued" and retried["attempt"] == 2
    run_pending()
    done = api.get(url).json()
    assert done["state"] == "done" and done["result"]["counts"]["created"] == 25
    assert api.post(f"/api/jobs/{job.pk}/retry/").status_code == 400  # done: nothing to retry


def test_a_failed_job_says_why(small_threshold, tree, users, api_for, monkeypatch):
    api = api_for("guali")
    url = upload(api, csv_file(25)).json()["job"]

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "run_import", broken)
    run_pending()
    body = api.get(url).json()
    assert body["state"] == "failed" and body["error"] == "disk on fire"
    assert JobFile.objects.exists()  # kept for a retry


def test_who_sees_a_job(small_threshold, tree, users, api_for):
    url = upload(api_for("guali"), csv_file(25)).json()["job"]
    job_path = url.split("testserver", 1)[-1]
    assert api_for("guali").get(job_path).status_code == 200
    assert api_for("hangzhou").get(job_path).status_code == 200  # office administrator of the area
    assert api_for("admin").get(job_path).status_code == 200
    for other in ("dayang", "xiaoshan", "guali_viewer", "guizhou"):  # not theirs; not managers of the area
        assert api_for(other).get(job_path).status_code == 404, other
    assert [j["id"] for j in api_for("guali").get("/api/jobs/").json()["results"]] == [Job.objects.get().pk]
    assert api_for("dayang").get("/api/jobs/").json()["results"] == []
    assert api_for("xiaoshan").post(f"{job_path}cancel/").status_code == 404


def test_job_pages_refresh_while_open(small_threshold, tree, users, client_for):
    client = client_for("guali")
    resp = client.post("/imports/upload/", {"kind": "projects", "file": SimpleUploadedFile("p.csv", csv_file(30))})
    job = Job.objects.get()
    assert resp.status_code == 302 and resp.url == f"/jobs/{job.pk}/"
    assert job.params["dry_run"] is True  # the web checks a large file first
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in page and f'hx-get="/jobs/{job.pk}/status/"' in page
    assert 'id="job-progress"' in page and 'id="job-cancel"' in page and "<script>" not in page
    assert f"/jobs/{job.pk}/" in client.get("/jobs/").content.decode()

    run_pending()
    part = client.get(f"/jobs/{job.pk}/status/").content.decode()
    assert "hx-trigger" not in part  # finished: the page stops asking
    assert 'id="apply-checked"' in part and 'id="plan-counts"' in part
    assert not Project.objects.exists()
    applied = client.post(f"/imports/checked/{job.pk}/apply/")
    apply_job = Job.objects.exclude(pk=job.pk).get()
    assert applied.status_code == 302 and applied.url == f"/jobs/{apply_job.pk}/"
    assert not JobFile.objects.filter(job=job).exists()  # the file moved to the applying job
    run_pending()
    done = client.get(f"/jobs/{apply_job.pk}/").content.decode()
    assert 'id="job-batch"' in done and Project.objects.count() == 30
    # applying the same check twice is refused
    client.post(f"/imports/checked/{job.pk}/apply/")
    assert Job.objects.count() == 2


def test_retry_and_cancel_buttons(small_threshold, tree, users, client_for):
    client = client_for("guali")
    client.post("/imports/upload/", {"kind": "projects", "file": SimpleUploadedFile("p.csv", csv_file(30))})
    job = Job.objects.get()
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    assert Job.objects.get().state == "cancelled"
    Job.objects.filter(pk=job.pk).update(state="failed", error="boom")
    JobFile.objects.create(job=job, name="p.csv", data=csv_file(30))
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="job-retry"' in page and "boom" in page
    client.post(f"/jobs/{job.pk}/retry/")
    assert Job.objects.get().state == "queued"
    assert client_for("dayang").post(f"/jobs/{job.pk}/retry/").status_code == 404


def test_rollup_rebuild_job(small_threshold, tree, users, client_for):
    assert client_for("hangzhou").post("/jobs/rollups/").status_code == 403
    client = client_for("admin")
    resp = client.post("/jobs/rollups/")
    job = Job.objects.get(kind="rollups")
    assert resp.url == f"/jobs/{job.pk}/"
    run_pending()
    job.refresh_from_db()
    assert job.state == "done" and "cells" in job.result
    assert 'id="job-result"' in client.get(f"/jobs/{job.pk}/").content.decode()


def test_cli_import_stays_synchronous(small_threshold, tree, users, tmp_path):
    from townbrain.cli import main

    path = tmp_path / "p.csv"
    path.write_bytes(csv_file(40))
    result = CliRunner().invoke(main, ["import", str(path), "--kind", "projects", "--json"])
    assert result.exit_code == 0, result.output
    assert Project.objects.count() == 40 and not Job.objects.exists()


def test_a_checked_file_with_errors_comes_back_with_an_error_column(small_threshold, tree, users, client_for):
    """The job's result shows the plan as the synchronous page does, with the user's own file and an error column."""
    import csv
    import io

    client = client_for("guali")
    bad = csv_file(30).replace(b"J00007,", b"J00007,,")  # a shifted row
    client.post("/imports/upload/", {"kind": "projects", "file": SimpleUploadedFile("p.csv", bad)})
    job = Job.objects.get()
    run_pending()
    part = client.get(f"/jobs/{job.pk}/status/").content.decode()
    assert 'id="plan-counts"' in part and 'id="plan-warnings"' in part and 'id="errors"' in part
    link = f"/imports/checked/{job.pk}/errors/"
    assert f'href="{link}"' in part
    got = client.get(link)
    assert got.status_code == 200 and "attachment" in got["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    marked = [r for r in rows[1:] if r[-1]]
    assert rows[0][:2] == ["项目编号", "项目名称"] and [r[0] for r in marked] == ["J00007"]
    assert client_for("guizhou").get(link).status_code == 404  # another province's office: not its job
