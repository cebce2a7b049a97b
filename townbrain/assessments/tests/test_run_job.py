"""A run over more towns than TOWNBRAIN_JOB_THRESHOLD_TOWNS (a province's) is a background job (docs/jobs.md):
the form sends its author to the job's page; the worker makes the run; the job's page links to it. A run
refused at once (an area the author does not manage) is still the form's answer, not a failed job."""

import pytest
from django.urls import reverse

from townbrain.assessments import services
from townbrain.assessments.models import Run
from townbrain.core.scope import SYSTEM
from townbrain.jobs.models import Job
from townbrain.jobs.worker import run_pending


@pytest.fixture
def meili_scheme(enrolled, values):
    values("sewage_treatment_rate", {"330109113": 96, "330109001": 90, "330182107": 75}, aggregation="average")
    return services.load_fixture_schemes(SYSTEM)[0]


def test_a_large_run_is_a_job(meili_scheme, client_for, settings):
    settings.JOB_THRESHOLD_TOWNS = 2  # the four enrolled towns are "many"
    client = client_for("zhejiang")
    response = client.post(reverse("assessment-run-create"), {"scheme": meili_scheme.code, "year": 2020})
    job = Job.objects.get()
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    assert job.kind == "assessment" and not Run.objects.exists()

    run_pending()
    job.refresh_from_db()
    run = Run.objects.get()
    assert job.state == "done" and job.result["run"] == run.pk and job.result["towns"] == 4
    assert run.created_by.username == "zhejiang" and run.area == "33"
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="{run.get_absolute_url()}"' in page and 'id="job-run"' in page

    # a county's run (two towns) stays in the request
    client.post(reverse("assessment-run-create"), {"scheme": meili_scheme.code, "year": 2020, "area": "330109"})
    assert Run.objects.count() == 2 and Job.objects.count() == 1


def test_a_refused_run_is_no_job(meili_scheme, client_for, settings):
    settings.JOB_THRESHOLD_TOWNS = 0
    response = client_for("hangzhou").post(reverse("assessment-run-create"),
                                           {"scheme": meili_scheme.code, "year": 2020, "area": "52"})
    assert response.status_code in (200, 403) and not Job.objects.exists()
