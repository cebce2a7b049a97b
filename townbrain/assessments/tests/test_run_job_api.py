"""POST /api/assessment-runs/ above TOWNBRAIN_JOB_THRESHOLD_TOWNS towns (a province's) is a background job, as
the run form's (docs/jobs.md): 202 {"job": url}; the job makes the run and its result names it. Below the
threshold the answer is the run, as before; an area the caller does not manage is refused at once (403), with
no job; a queued run can be cancelled and leaves no run."""

import pytest

from townbrain.assessments import services
from townbrain.assessments.models import Run
from townbrain.core.scope import SYSTEM
from townbrain.jobs.models import Job
from townbrain.jobs.worker import run_pending


@pytest.fixture
def meili_scheme(enrolled, values, settings):
    settings.JOB_THRESHOLD_TOWNS = 2  # the four enrolled towns are "many", a county's two are not
    values("sewage_treatment_rate", {"330109113": 96, "330109001": 90, "330182107": 75}, aggregation="average")
    return services.load_fixture_schemes(SYSTEM)[0]


def test_a_large_run_answers_202_and_the_job_makes_it(meili_scheme, api_for):
    api = api_for("zhejiang")
    response = api.post("/api/assessment-runs/", {"scheme": meili_scheme.code, "year": 2020}, format="json")
    assert response.status_code == 202, response.content
    assert set(response.json()) == {"job"}
    job = Job.objects.get()
    url = response.json()["job"]
    assert url.endswith(f"/api/jobs/{job.pk}/") and job.kind == "assessment"
    queued = api.get(url).json()
    assert queued["state"] == "queued" and queued["progress"] == 0 and not Run.objects.exists()

    assert run_pending() == 1
    done = api.get(url).json()
    run = Run.objects.get()
    assert done["state"] == "done" and done["progress"] == 100
    assert done["result"]["run"] == run.pk and done["result"]["towns"] == 4 and done["result"]["url"] == run.get_absolute_url()
    assert run.created_by.username == "zhejiang" and run.area == "33" and run.results.count() == 4
    assert api.get(f"/api/assessment-runs/{run.pk}/").status_code == 200


def test_a_small_run_answers_at_once(meili_scheme, api_for):
    response = api_for("zhejiang").post("/api/assessment-runs/", {"scheme": meili_scheme.code, "year": 2020,
                                                                   "area": "330109"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["id"] == Run.objects.get().pk and not Job.objects.exists()


def test_a_refused_large_run_is_no_job(meili_scheme, api_for, settings):
    settings.JOB_THRESHOLD_TOWNS = 0
    response = api_for("hangzhou").post("/api/assessment-runs/", {"scheme": meili_scheme.code, "year": 2020,
                                                                  "area": "33"}, format="json")
    assert response.status_code == 403, response.content
    assert not Job.objects.exists() and not Run.objects.exists()


def test_cancel_a_queued_run(meili_scheme, api_for):
    api = api_for("zhejiang")
    url = api.post("/api/assessment-runs/", {"scheme": meili_scheme.code, "year": 2020}, format="json").json()["job"]
    assert api_for("guizhou").post(f"{url}cancel/").status_code == 404  # another area's administrator
    assert api.post(f"{url}cancel/").json()["state"] == "cancelled"
    run_pending()
    assert api.get(url).json()["state"] == "cancelled" and not Run.objects.exists()
