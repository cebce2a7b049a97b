from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from townbrain.core.models import AuditEntry
from townbrain.projects import services, warnings
from townbrain.projects.schedule import curve_progress, expected_progress, schedule_state
from townbrain.projects.tests.test_projects import make_project


def test_linear_plan():
    assert expected_progress(date(2020, 3, 1), date(2020, 12, 31), date(2020, 9, 30)) == Decimal(70)
    assert expected_progress(date(2020, 3, 1), date(2020, 12, 31), date(2020, 2, 28)) == Decimal(0)
    assert expected_progress(date(2020, 3, 1), date(2020, 12, 31), date(2021, 5, 31)) == Decimal(100)
    assert expected_progress(None, date(2020, 12, 31), date(2020, 9, 30)) is None


def test_curve_progress_takes_latest_month_due():
    curve = [("202003", Decimal(5)), ("202006", Decimal(20)), ("202009", Decimal(60))]
    assert curve_progress(curve, date(2020, 2, 29)) == 0
    assert curve_progress(curve, date(2020, 8, 31)) == Decimal(20)
    assert curve_progress(curve, date(2020, 9, 30)) == Decimal(60)
    assert curve_progress([], date(2020, 9, 30)) is None


@pytest.mark.django_db
def test_monthly_plan_changes_the_verdict_and_is_audited(tree, users):
    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    at = date(2020, 9, 30)
    # linear plan expects 70 % in September: 40 % is late
    assert schedule_state(project, at, Decimal(40)) == "late"
    # a back-loaded curve expects 35 % in September: 40 % is on time
    services.set_monthly_plan(users["guali"], project, {"202006": 10, "202009": 35, "202012": 100})
    curve = [(p.period, p.planned_progress) for p in project.monthly_plan.all()]
    assert schedule_state(project, at, Decimal(40), curve) == "on_time"
    assert AuditEntry.objects.filter(action="project.plan", object_id=str(project.pk)).count() == 1
    # the same curve again changes nothing and writes no audit row
    services.set_monthly_plan(users["guali"], project, {"202006": 10, "202009": 35, "202012": 100})
    assert AuditEntry.objects.filter(action="project.plan", object_id=str(project.pk)).count() == 1
    # warnings use the curve too
    services.report_progress(users["guali"], project, "202009", progress_percent=Decimal(40), status="started")
    rows = warnings.compute(users["guali"], tree["330109113"], "202009", project.programme, ["laggard"])
    assert rows == []


@pytest.mark.django_db
def test_monthly_plan_rules(tree, users):
    project = make_project("330109113")
    with pytest.raises(ValidationError) as exc:
        services.set_monthly_plan(users["guali"], project, {"202006": 50, "202009": 30})
    assert "202009" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.set_monthly_plan(users["guali"], project, {"202013": 10})
    with pytest.raises(ValidationError):
        services.set_monthly_plan(users["guali"], project, {"202006": 120})
    with pytest.raises(PermissionDenied):
        services.set_monthly_plan(users["dayang"], project, {"202006": 10})


@pytest.mark.django_db
def test_project_page_judges_against_the_curve(client_for, tree, users):
    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    services.report_progress(users["guali"], project, "202009", progress_percent=Decimal(40), status="started")
    client = client_for("guali")
    assert client.get(f"/projects/{project.pk}/").context["state"] == "late"  # linear plan: 70 % due
    services.set_monthly_plan(users["guali"], project, {"202009": 35, "202012": 100})
    assert client.get(f"/projects/{project.pk}/").context["state"] == "on_time"
    assert "/org/330109113/targets/" in client.get("/org/330109113/").content.decode()


@pytest.mark.django_db
def test_rollup_laggards_follow_the_curve(api_for, tree, users):
    from townbrain.projects import rollups

    project = make_project("330109113", status="started", actual_start=date(2020, 3, 10))
    services.report_progress(users["guali"], project, "202009", progress_percent=Decimal(40), status="started")
    params = {"org": "330109", "period": "202009", "programme": "meili"}
    api = api_for("xiaoshan")
    assert api.get("/api/rollups/", params).json()["laggards"] == 1  # linear: 70 % due
    services.set_monthly_plan(users["guali"], project, {"202009": 35, "202012": 100})
    live = api.get("/api/rollups/", params).json()
    assert live["laggards"] == 0
    ledger = rollups.compute_from_ledger(users["xiaoshan"], tree["330109"], "202009", project.programme)
    assert ledger["laggards"] == 0
    rollups.rebuild()
    assert api.get("/api/rollups/", params).json()["laggards"] == 0
